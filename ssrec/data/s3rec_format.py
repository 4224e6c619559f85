"""Reader for the S3-Rec text format: ``user item1 item2 ...`` per line, plus ``*_item2attributes.json``.

This is the format of the public S3-Rec release (Beauty.txt, LastFM.txt). Item ids are used as they are
(no remapping), so N is the largest item id in the sequences and released checkpoints stay aligned.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from ssrec.data.dataset import MIN_INTERACTIONS, ItemAttributes, SequenceDataset
from ssrec.data.errors import DataFormatError
from ssrec.data.id_space import check_dense_ids
from ssrec.data.text_file import read_text

log = logging.getLogger(__name__)

LINE_SHAPE = "expected 'user item1 item2 ...'"
_MAX_DIGITS = 18  # below 2**63: a longer id would overflow int64


def read_s3rec(path: str | Path, attributes: str | Path | None = None, *, name: str | None = None,
               drop_short_users: bool = False) -> SequenceDataset:
    """Read an S3-Rec sequence file and, optionally, its item-attributes JSON.

    Contract:
        * ``path``: one user per line, ``user item1 item2 ...``, whitespace separated, items in time order.
          The user id is any token (kept as a string in ``users``); item ids are positive integers.
          A trailing newline at the end of the file and trailing spaces on a line are fine.
        * N (``num_items``) is the largest item id in the sequences; ids are not remapped, so they must be
          nearly contiguous: a largest id above 2 x (distinct ids) + 1000 is an error (``ssrec.data.id_space``),
          and the same holds for attribute ids.
        * ``attributes``: a JSON object ``{"item id": [attribute ids]}``; keys are item ids in 1..N,
          values lists of positive integers. ``num_attributes`` = largest attribute id + 1.
        * ``name`` defaults to the file stem (``Beauty.txt`` -> ``"Beauty"``); ``source`` is ``str(path)``.
        * Users with fewer than 3 interactions are an error, or with ``drop_short_users=True`` are
          dropped with one logged warning. A user line with no items at all is always an error.

    Raises:
        DataFormatError: naming the file, the 1-based line and the problem: an empty line, a user without
            items, an item id that is not a positive integer, a repeated user id (both lines named), a user
            with too few interactions, an item id far beyond the distinct ids; in the JSON file: invalid JSON,
            a key that is not an item id in 1..N, a value that is not a list of positive integers.
    """
    path = Path(path)
    text = read_text(path)
    users, lengths, tokens, lines = _parse_lines(path, text)
    if not users:
        raise DataFormatError(path, None, f"the file is empty; {LINE_SHAPE} on each line")
    items = _to_ids(path, tokens, lengths, lines)
    if len(items):
        top = int(items.argmax())
        check_dense_ids(path, "item", int(items[top]), len(np.unique(items)), _line_of(top, lengths, lines))
    users, lengths, items = _check_lengths(path, users, lengths, items, lines, drop_short_users)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    num_items = int(items.max()) if len(items) else 0
    table = read_item_attributes(attributes, num_items) if attributes is not None else None
    return SequenceDataset(name or path.stem, items, offsets, num_items, tuple(users), table, str(path))


def _parse_lines(path: Path, text: str) -> tuple[list[str], np.ndarray, list[str], list[int]]:
    """Split the file into user ids, sequence lengths, all item tokens and each user's 1-based line."""
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()  # the newline that ends the last line
    users: list[str] = []
    lengths: list[int] = []
    lines: list[int] = []
    tokens: list[str] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        parts = row.split()
        if not parts:
            raise DataFormatError(path, number, f"empty line; {LINE_SHAPE}")
        user = parts[0]
        if len(parts) == 1:
            raise DataFormatError(path, number, f"user {user!r} has no items; {LINE_SHAPE}")
        first = seen.setdefault(user, number)
        if first != number:
            raise DataFormatError(path, number, f"user id {user!r} repeats line {first}; expected one line per user")
        item_tokens = parts[1:]
        joined = "".join(item_tokens)
        if not (joined.isascii() and joined.isdigit()):
            bad = next(t for t in item_tokens if not (t.isascii() and t.isdigit()))
            raise DataFormatError(path, number, f"item id {bad!r} is not a positive integer")
        users.append(user)
        lengths.append(len(item_tokens))
        lines.append(number)
        tokens.extend(item_tokens)
    return users, np.asarray(lengths, dtype=np.int64), tokens, lines


def _to_ids(path: Path, tokens: list[str], lengths: np.ndarray, lines: list[int]) -> np.ndarray:
    """Convert the (all-digit) item tokens at once; name the line of a zero or an oversized id."""
    if len(tokens) and max(map(len, tokens)) > _MAX_DIGITS:
        at = next(k for k, t in enumerate(tokens) if len(t) > _MAX_DIGITS)
        raise DataFormatError(path, _line_of(at, lengths, lines),
                              f"item id {tokens[at]!r} is too large (at most {_MAX_DIGITS} digits)")
    items = np.fromiter(map(int, tokens), dtype=np.int64, count=len(tokens))
    zeros = np.flatnonzero(items < 1)
    if len(zeros):
        raise DataFormatError(path, _line_of(int(zeros[0]), lengths, lines),
                              f"item id {tokens[zeros[0]]!r} is not a positive integer (0 is PAD)")
    return items


def _line_of(position: int, lengths: np.ndarray, lines: list[int]) -> int:
    """The file line of the ``position``-th item token."""
    ends = np.cumsum(lengths)
    return lines[int(np.searchsorted(ends, position, side="right"))]


def _check_lengths(path: Path, users: list[str], lengths: np.ndarray, items: np.ndarray, lines: list[int],
                   drop: bool) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Refuse (or drop, with one warning) users with fewer than MIN_INTERACTIONS items."""
    short = np.flatnonzero(lengths < MIN_INTERACTIONS)
    if not len(short):
        return users, lengths, items
    if not drop:
        u = int(short[0])
        raise DataFormatError(path, lines[u], f"user {users[u]!r} has {int(lengths[u])} interactions; "
                              f"leave-one-out needs at least {MIN_INTERACTIONS} (drop_short_users=True drops "
                              f"such users)")
    keep = lengths >= MIN_INTERACTIONS
    log.warning("%s: dropped %d users with fewer than %d interactions (first: %s)", path, len(short),
                MIN_INTERACTIONS, ", ".join(users[int(u)] for u in short[:5]))
    items = items[np.repeat(keep, lengths)]
    return [u for u, k in zip(users, keep) if k], lengths[keep], items


def read_item_attributes(path: str | Path, num_items: int) -> ItemAttributes:
    """Read ``{"item id": [attribute ids]}`` JSON into an attribute table for items 1..num_items.

    Raises:
        DataFormatError: invalid JSON (at the parser's line), not an object, a key that is not a positive
            integer or exceeds num_items, a repeated key, a value that is not a list of positive integers;
            the line is where the key appears in the file.
    """
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, e.lineno, f"invalid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(data, _Pairs):
        raise DataFormatError(path, 1, f"expected a JSON object {{\"item id\": [attribute ids]}}, "
                              f"found {type(data).__name__}")
    mapping: dict[int, list[int]] = {}
    for key, value in data:
        if not (key.isascii() and key.isdigit()) or int(key) < 1:
            raise DataFormatError(path, _key_line(text, key), f"item id {key!r} is not a positive integer")
        item = int(key)
        if item > num_items:
            raise DataFormatError(path, _key_line(text, key), f"item {item} is not in the sequences "
                                  f"(item ids are 1..{num_items})")
        if item in mapping:
            raise DataFormatError(path, _key_line(text, key, last=True), f"item {key!r} appears twice")
        if not isinstance(value, list) or not all(type(a) is int and a >= 1 for a in value):
            raise DataFormatError(path, _key_line(text, key), f"item {key!r}: expected a list of positive "
                                  f"integer attribute ids, found {json.dumps(value)[:60]}")
        mapping[item] = value
    listed = [(max(v), key) for key, v in data if v]
    if listed:
        top, key = max(listed)
        check_dense_ids(path, "attribute", top, len({a for v in mapping.values() for a in v}), _key_line(text, key))
    table = ItemAttributes.from_mapping(mapping, num_items)
    repeated = sum(map(len, mapping.values())) - len(table.values)
    if repeated:
        log.info("%s: merged %d repeated attribute entries (attributes are a set per item)", path, repeated)
    return table


class _Pairs(list):
    """A JSON object as its list of (key, value) pairs, so repeated keys are visible."""


def _key_line(text: str, key: str, *, last: bool = False) -> int | None:
    """1-based line where ``"key":`` appears in the raw JSON text (its last appearance with ``last``)."""
    matches = list(re.finditer('"' + re.escape(key) + r'"\s*:', text))
    if not matches:
        return None  # the key was written with JSON escapes; no single line to name
    pos = matches[-1 if last else 0].start()
    return text.count("\n", 0, pos) + 1
