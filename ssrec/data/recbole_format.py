"""Reader for RecBole atomic files: ``<name>.inter`` (interactions) and optionally ``<name>.item`` (attributes).

Atomic files are tab separated; line 1 is a header of ``field:type`` columns, the types being token,
token_seq, float and float_seq. Item and user tokens are remapped to contiguous ids (items 1..N, in order
of first appearance), each user's interactions are sorted by timestamp, and every (field, token) pair of
the chosen ``.item`` fields becomes one attribute id.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssrec.data.dataset import ItemAttributes, SequenceDataset
from ssrec.data.errors import DataFormatError
from ssrec.data.text_file import read_text, text_lines
from ssrec.data.token_columns import Rows, attributes_from_tokens, dataset_from_tokens

USER_FIELD, ITEM_FIELD, TIME_FIELD = "user_id", "item_id", "timestamp"
TYPES = ("token", "token_seq", "float", "float_seq")
ATTRIBUTE_TYPES = ("token", "token_seq")


def read_recbole(inter_path: str | Path, item_path: str | Path | None = None, *,
                 attribute_fields: list[str] | None = None, name: str | None = None,
                 drop_short_users: bool = True) -> SequenceDataset:
    """Read a RecBole ``.inter`` file (and optionally its ``.item`` file) into a data set.

    Contract:
        * ``.inter`` needs the fields user_id, item_id and timestamp (matched by name, whatever their
          ``:type``); other columns are ignored. Each user's interactions are sorted by timestamp, stably
          (ties keep file order).
        * Users with fewer than 3 interactions are DROPPED by default (``drop_short_users=True``), with
          one logged warning giving their count; with ``drop_short_users=False`` they are an error naming
          the line of the user's first interaction.
        * Users keep their order of first appearance (``users`` holds their tokens); item tokens are
          mapped to 1..N in order of first appearance among the kept interactions.
        * ``.item``: ``item_id`` plus attribute fields. By default every token / token_seq field other
          than item_id is an attribute field; ``attribute_fields`` picks some (in that order). Token_seq
          values are space-separated tokens; an empty value gives no attribute. Each (field, token) pair
          gets its own attribute id, 1..A, assigned field by field in order of first appearance, and
          ``attributes.names[a]`` is ``"field=token"`` (``names[0] == "[PAD]"``). Items of ``.item``
          absent from the interactions are ignored; items without a ``.item`` row have no attributes.
          With no attribute field at all, ``attributes`` is None.
        * ``name`` defaults to the ``.inter`` file stem; ``source`` is ``str(inter_path)``.

    Raises:
        DataFormatError: naming the file and line: a bad header (line 1; a missing field is named together
            with the columns present), a row with the wrong number of columns, an empty user or item
            token, a timestamp that is not a finite number, a short user (with drop_short_users=False),
            an unknown or non-token attribute field, an item listed twice in ``.item``.
    """
    inter = _read_table(inter_path)
    user_col, item_col, time_col = (inter.column(f) for f in (USER_FIELD, ITEM_FIELD, TIME_FIELD))
    if attribute_fields is not None and item_path is None:
        raise ValueError("attribute_fields needs an .item file (item_path)")

    def attributes(item_ids: dict[str, int], num_items: int) -> ItemAttributes | None:
        assert item_path is not None  # only called where an .item file was given
        return _read_attributes(Path(item_path), item_ids, num_items, attribute_fields)

    inter_path = Path(inter_path)
    return dataset_from_tokens([row[user_col] for row in inter.rows], [row[item_col] for row in inter.rows],
                               _timestamps(inter, time_col), rows=inter.lines, name=name or inter_path.stem,
                               drop_short_users=drop_short_users,
                               attributes=attributes if item_path is not None else None)


@dataclass
class _Table:
    """An atomic file split into fields; row k of ``rows`` is file line k + 2."""

    path: Path
    fields: list[str]
    types: list[str]
    rows: list[list[str]]

    def column(self, field: str) -> int:
        if field not in self.fields:
            present = ", ".join(f"{f}:{t}" for f, t in zip(self.fields, self.types))
            raise DataFormatError(self.path, 1, f"missing field {field!r}; columns present: {present}")
        return self.fields.index(field)

    @property
    def lines(self) -> Rows:
        """Rows named by their file line (row 0 is line 2, below the header)."""
        return Rows(str(self.path), first_line=2)

    def fail(self, row: int, problem: str) -> DataFormatError:
        return self.lines.fail(row, problem)


def _read_table(path: str | Path) -> _Table:
    """Read the header and the tab-separated rows, checking the column count of every row."""
    path = Path(path)
    text = read_text(path)
    lines = text_lines(text)
    if not lines or not lines[0].strip():
        raise DataFormatError(path, 1, "empty header; expected tab-separated 'field:type' columns")
    fields, types = [], []
    for column in lines[0].rstrip("\r").split("\t"):
        field, colon, kind = column.rpartition(":")
        if not colon or not field or kind not in TYPES:
            raise DataFormatError(path, 1, f"column {column!r} is not 'field:type' with type one of {', '.join(TYPES)}")
        if field in fields:
            raise DataFormatError(path, 1, f"field {field!r} appears twice in the header")
        fields.append(field)
        types.append(kind)
    rows = [line.rstrip("\r").split("\t") for line in lines[1:]]
    width = len(fields)
    for k, row in enumerate(rows):
        if len(row) != width:
            problem = "empty line" if row == [""] else f"found {len(row)} tab-separated columns"
            raise DataFormatError(path, k + 2, f"{problem}; expected {width} ({', '.join(fields)})")
    return _Table(path, fields, types, rows)


def _timestamps(table: _Table, col: int) -> np.ndarray:
    """The timestamp column as float64; the first non-number or non-finite value is an error."""
    values = [row[col] for row in table.rows]
    try:
        times = np.array(values, dtype=np.float64)
    except ValueError:
        times = None
    if times is None or not np.isfinite(times).all():
        for k, v in enumerate(values):
            try:
                ok = np.isfinite(float(v))
            except ValueError:
                ok = False
            if not ok:
                raise table.fail(k, f"{TIME_FIELD} {v!r} is not a finite number")
    assert times is not None  # a value that is no finite float raised above
    return times


def _read_attributes(path: Path, item_ids: dict[str, int], num_items: int,
                     attribute_fields: list[str] | None) -> ItemAttributes | None:
    """Attribute table from an ``.item`` file, for the items of ``item_ids`` (token -> 1-based id)."""
    table = _read_table(path)
    item_col = table.column(ITEM_FIELD)
    fields = []
    for col in _attribute_columns(table, item_col, attribute_fields):
        seq = table.types[col] == "token_seq"
        fields.append((table.fields[col], [row[col].split() if seq else [row[col].strip()] if row[col].strip() else []
                                           for row in table.rows]))
    return attributes_from_tokens([row[item_col] for row in table.rows], fields, item_ids, num_items,
                                  rows=table.lines)


def _attribute_columns(table: _Table, item_col: int, wanted: list[str] | None) -> list[int]:
    """Column indexes of the attribute fields: the ones asked for, or every token field but the item's."""
    if wanted is None:
        return [c for c, t in enumerate(table.types) if t in ATTRIBUTE_TYPES and c != item_col]
    available = ", ".join(f"{f}:{t}" for f, t in zip(table.fields, table.types) if f != ITEM_FIELD)
    columns = []
    for field in wanted:
        if field not in table.fields or field == ITEM_FIELD:
            raise DataFormatError(table.path, 1, f"unknown attribute field {field!r}; available fields: {available}")
        col = table.fields.index(field)
        if table.types[col] not in ATTRIBUTE_TYPES:
            raise DataFormatError(table.path, 1, f"attribute field {field!r} is {table.types[col]}; expected "
                                  f"token or token_seq (available fields: {available})")
        columns.append(col)
    return columns
