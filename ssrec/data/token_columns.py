"""Interactions and item attributes given as columns of tokens: what RecBole files and DataFrames both are.

The readers (``recbole_format``, ``frame_format``) turn their input into plain columns (user tokens, item
tokens, timestamps; item tokens with attribute tokens per field) and ``Rows``, which names a row in their
own terms (a file line, a DataFrame row). Everything after that, the remapping to contiguous ids, the time
order, short users and the attribute ids, is done once, here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ssrec.data.dataset import MIN_INTERACTIONS, ItemAttributes, SequenceDataset
from ssrec.data.errors import DataFormatError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rows:
    """How one input names its rows (0-based) in errors.

    Attributes:
        source: the file, or None for in-memory data.
        first_line: the file line of row 0 (2 below a header); None names rows as ``row k``.
    """

    source: str | None
    first_line: int | None = None

    def name(self, row: int) -> str:
        return f"line {row + self.first_line}" if self.first_line is not None else f"row {row}"

    def fail(self, row: int, problem: str) -> DataFormatError:
        if self.first_line is not None:
            return DataFormatError(self.source, row + self.first_line, problem)
        return DataFormatError(self.source, None, f"row {row}: {problem}")


def dataset_from_tokens(users: Sequence[str], items: Sequence[str], times: np.ndarray, *, rows: Rows,
                        name: str, drop_short_users: bool,
                        attributes: Callable[[dict[str, int], int], ItemAttributes | None] | None = None,
                        ) -> SequenceDataset:
    """A data set from one row per interaction: user token, item token, timestamp (any numeric dtype).

    Contract (shared by every token reader):
        * Users keep their order of first appearance; items are mapped to 1..N in order of first appearance
          among the kept interactions (their tokens kept as ``item_ids``); each user's interactions are
          sorted by time, stably (ties keep row order).
        * Users with fewer than 3 interactions are dropped with one logged warning, or with
          ``drop_short_users=False`` are an error at the user's first row.
        * ``attributes(item_ids, num_items)``, when given, builds the attribute table from the token -> id
          map of the kept items.

    Raises:
        DataFormatError: an empty user or item token, a short user (drop_short_users=False), no user left.
    """
    user_tokens, user_of_row = _index_tokens(users, "user_id", rows)
    item_tokens, item_of_row = _index_tokens(items, "item_id", rows)
    keep_row, user_tokens = _drop_short_users(user_tokens, user_of_row, drop_short_users, rows)
    if not user_tokens:
        raise DataFormatError(rows.source, None, f"no user has at least {MIN_INTERACTIONS} interactions "
                              f"({len(user_of_row)} rows)")
    kept = np.flatnonzero(keep_row)
    user_of_row = _first_appearance_codes(user_of_row[kept])
    item_of_row = item_of_row[kept]
    kept_items = np.unique(item_of_row, return_index=True)
    item_ids = [item_tokens[t] for t in kept_items[0][np.argsort(kept_items[1])]]
    item_of_row = _first_appearance_codes(item_of_row)
    order = np.lexsort((np.asarray(times)[kept], user_of_row))  # stable: ties keep row order
    sequence = (item_of_row[order] + 1).astype(np.int64)
    offsets = np.zeros(len(user_tokens) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_of_row, minlength=len(user_tokens)), out=offsets[1:])
    num_items = len(item_ids)
    table = attributes({t: i + 1 for i, t in enumerate(item_ids)}, num_items) if attributes is not None else None
    return SequenceDataset(name, sequence, offsets, num_items, tuple(user_tokens), table,
                           rows.source if rows.source is not None else "<in-memory>", tuple(item_ids))


def attributes_from_tokens(items: Sequence[str], fields: list[tuple[str, list[list[str]]]],
                           item_ids: dict[str, int], num_items: int, *,
                           rows: Rows) -> ItemAttributes | None:
    """The attribute table from one row per item: its token and, per field, its list of attribute tokens.

    Contract: each (field, token) pair gets its own attribute id 1..A, field by field in order of first
    appearance among the items of ``item_ids``; ``names[a]`` is ``"field=token"`` (``names[0] == "[PAD]"``).
    Rows of items absent from ``item_ids`` are ignored; items without a row have no attributes; with no
    field at all the result is None.

    Raises:
        DataFormatError: an empty item token, or an item given on two rows.
    """
    first_row: dict[str, int] = {}
    used: list[tuple[int, int]] = []  # (item id, row) of the items that occur in the interactions
    for k, token in enumerate(items):
        if not token:
            raise rows.fail(k, "empty item_id")
        if first_row.setdefault(token, k) != k:
            raise rows.fail(k, f"item {token!r} repeats {rows.name(first_row[token])}; expected one row per item")
        if token in item_ids:
            used.append((item_ids[token], k))
    if len(used) < len(items):
        log.debug("%s: ignored %d items that occur in no kept interaction", rows.source, len(items) - len(used))
    if not fields:
        log.info("%s: no attribute fields; the data set has no attributes", rows.source)
        return None
    names = ["[PAD]"]
    mapping: dict[int, list[int]] = {item: [] for item, _ in used}
    for field, tokens in fields:
        ids: dict[str, int] = {}
        for item, k in used:
            for token in tokens[k]:
                a = ids.get(token)
                if a is None:
                    a = ids[token] = len(names)
                    names.append(f"{field}={token}")
                mapping[item].append(a)
    return ItemAttributes.from_mapping(mapping, num_items, names=tuple(names), num_attributes=len(names))


def _index_tokens(tokens: Sequence[str], field: str, rows: Rows) -> tuple[list[str], np.ndarray]:
    """Distinct tokens in order of first appearance, and each row's 0-based index into them."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(t, len(index)) for t in tokens), dtype=np.int64, count=len(tokens))
    if "" in index:
        raise rows.fail(list(tokens).index(""), f"empty {field}")
    return list(index), codes


def _first_appearance_codes(codes: np.ndarray) -> np.ndarray:
    """Renumber codes to 0..K-1 in order of first appearance (after rows were dropped)."""
    values, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(values))
    return rank[inverse.reshape(-1)]


def _drop_short_users(users: list[str], user_of_row: np.ndarray, drop: bool,
                      rows: Rows) -> tuple[np.ndarray, list[str]]:
    """Mask of the rows to keep and the kept users, refusing or dropping users with too few rows."""
    counts = np.bincount(user_of_row, minlength=len(users))
    short = np.flatnonzero(counts < MIN_INTERACTIONS)
    if not len(short):
        return np.ones(len(user_of_row), dtype=bool), users
    if not drop:
        u = int(short[0])  # users are in order of first appearance: the earliest short user
        first_row = int(np.argmax(user_of_row == u))
        raise rows.fail(first_row, f"user {users[u]!r} has {int(counts[u])} interactions; leave-one-out needs "
                   f"at least {MIN_INTERACTIONS} (drop_short_users=True drops such users)")
    log.warning("%s: dropped %d users with fewer than %d interactions (first: %s)", rows.source or "<in-memory data>",
                len(short), MIN_INTERACTIONS, ", ".join(users[int(u)] for u in short[:5]))
    keep_user = counts >= MIN_INTERACTIONS
    return keep_user[user_of_row], [u for u, k in zip(users, keep_user) if k]
