"""Reader for pandas DataFrames and parquet files of (user, item, timestamp) rows, with optional item attributes.

pandas (and pyarrow for parquet) are the optional extra ``pip install 'ssrec[pandas]'``. Users and items
are tokens (their string form), remapped to contiguous ids exactly as RecBole files are
(``ssrec.data.token_columns``); errors name the file (or ``<in-memory data>``) and the 0-based row.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ssrec.data.dataset import ItemAttributes, SequenceDataset
from ssrec.data.errors import DataFormatError
from ssrec.data.token_columns import Rows, attributes_from_tokens, dataset_from_tokens
from ssrec.extras import require


def from_dataframe(frame: Any, *, items: Any = None, user: str = "user_id", item: str = "item_id",
                   time: str = "timestamp", attribute_fields: list[str] | None = None, name: str = "dataframe",
                   drop_short_users: bool = True, source: str | None = None,
                   items_source: str | None = None) -> SequenceDataset:
    """A data set from a DataFrame with one row per interaction, and optionally a DataFrame of item attributes.

    Contract:
        * ``frame`` needs the columns ``user``, ``item`` and ``time``; others are ignored. User and item
          values are tokens: their string form (integral floats as integers); missing values and empty
          strings are errors. ``time`` is numeric or datetime; each user's rows are sorted by it, stably.
        * Users with fewer than 3 interactions are dropped with a logged warning (``drop_short_users=False``:
          an error at the user's first row), users keep their order of first appearance, items get 1..N in
          order of first appearance, exactly as ``read_recbole``.
        * ``items``: one row per item, the ``item`` column plus attribute columns. By default every column
          that is not float holds attributes; ``attribute_fields`` picks some. A list, tuple or array value
          is several attribute tokens (RecBole's token_seq); a missing value is none. Each (column, token)
          pair is one attribute id, named ``"column=token"``.

    Raises:
        DataFormatError: a missing column (the present ones are listed), a missing or empty user or item,
            a timestamp that is not a finite number, an item on two rows of ``items``, an unknown attribute
            column; the message names ``source`` (or ``<in-memory data>``) and the row.
        MissingExtra: pandas is not installed.
    """
    pd = require("pandas", "pandas", "reading a DataFrame")
    rows = Rows(source)
    users = _tokens(frame, _column(frame, user, source), rows)
    item_tokens = _tokens(frame, _column(frame, item, source), rows)
    times = _times(pd, frame[_column(frame, time, source)], rows)
    if items is None and attribute_fields is not None:
        raise ValueError("attribute_fields picks columns of the item DataFrame (items=...)")

    def attributes(item_ids: dict[str, int], num_items: int) -> ItemAttributes | None:
        item_rows = Rows(items_source)
        key = _column(items, item, items_source)
        fields = [(c, _attribute_tokens(pd, items[c])) for c in _attribute_columns(items, key, attribute_fields,
                                                                                    items_source)]
        return attributes_from_tokens(_tokens(items, key, item_rows), fields, item_ids, num_items,
                                      rows=item_rows)

    return dataset_from_tokens(users, item_tokens, times, rows=rows, name=name, drop_short_users=drop_short_users,
                               attributes=attributes if items is not None else None)


def read_parquet(path: str | Path, item_path: str | Path | None = None, *, attribute_fields: list[str] | None = None,
                 user: str = "user_id", item: str = "item_id", time: str = "timestamp",
                 drop_short_users: bool = True) -> SequenceDataset:
    """A data set from a parquet file of interactions (and optionally one of item attributes).

    The same contract as :func:`from_dataframe`; the data set is named after the file stem.

    Raises:
        DataFormatError: a missing or unreadable file (not parquet), or any error of ``from_dataframe``,
            naming the file and row.
        MissingExtra: pandas or pyarrow is not installed.
    """
    path = Path(path)
    frame = _read_parquet(path)
    items = _read_parquet(Path(item_path)) if item_path is not None else None
    return from_dataframe(frame, items=items, user=user, item=item, time=time, attribute_fields=attribute_fields,
                          name=path.stem, drop_short_users=drop_short_users, source=str(path),
                          items_source=None if item_path is None else str(item_path))


def _read_parquet(path: Path) -> Any:
    pd = require("pandas", "pandas", "reading parquet")
    require("pyarrow", "pandas", "reading parquet")
    if not path.is_file():
        raise DataFormatError(path, None, "no such file" if not path.exists() else "is a folder; expected a file")
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow reports a foreign or truncated file with several exception types
        raise DataFormatError(path, None, f"not a readable parquet file ({type(exc).__name__}: {exc})") from None


def _column(frame: Any, name: str, source: str | None) -> str:
    """``name`` if ``frame`` has that column, else an error listing the columns it has."""
    if name not in frame.columns:
        present = ", ".join(map(str, frame.columns)) or "(none)"
        raise DataFormatError(source, None, f"missing column {name!r}; columns present: {present}")
    return name


def _refuse_missing(values: Any, rows: Rows) -> None:
    """The first missing value of a column (None, NaN, NaT, NA) is an error at its row."""
    missing = np.flatnonzero(values.isna().to_numpy())
    if len(missing):
        raise rows.fail(int(missing[0]), f"missing {values.name}")


def _tokens(frame: Any, column: str, rows: Rows) -> list[str]:
    """The column's values as tokens; a missing value is an error at its row."""
    values = frame[column]
    _refuse_missing(values, rows)
    return [id_token(v) for v in values.to_numpy()]


def _times(pd: Any, values: Any, rows: Rows) -> np.ndarray:
    """Timestamps as numbers (datetimes as their integer count); the first non-finite one is an error."""
    if pd.api.types.is_datetime64_any_dtype(values):
        _refuse_missing(values, rows)
        return values.astype("int64").to_numpy()  # ticks since the epoch, time zones included
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        value = values.iloc[int(bad[0])]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise rows.fail(int(bad[0]), f"{values.name} {shown} is not a finite number")
    if pd.api.types.is_integer_dtype(values):
        return values.to_numpy(dtype=np.int64)  # exact: float64 would merge large distinct timestamps
    return numbers


def _attribute_columns(items: Any, key: str, wanted: list[str] | None, source: str | None) -> list[str]:
    """The attribute columns: the ones asked for, or every column but the key whose dtype is not float."""
    if wanted is None:
        return [str(c) for c in items.columns if c != key and items[c].dtype.kind != "f"]
    available = ", ".join(str(c) for c in items.columns if c != key)
    for field in wanted:
        if field not in items.columns or field == key:
            raise DataFormatError(source, None, f"unknown attribute column {field!r}; available columns: {available}")
    return list(wanted)


def _attribute_tokens(pd: Any, values: Any) -> list[list[str]]:
    """Each row's attribute tokens: several for a list value, none for a missing one."""
    tokens = []
    for v in values.to_numpy():
        if isinstance(v, (list, tuple, np.ndarray)):
            tokens.append([id_token(t) for t in v if not _missing(pd, t)])
        else:
            tokens.append([] if _missing(pd, v) or str(v).strip() == "" else [id_token(v).strip()])
    return tokens


def id_token(value: Any) -> str:
    """A value's string form as an id token; an integral float is written as the integer it is (1999.0 is 1999)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _missing(pd: Any, value: Any) -> bool:
    return bool(pd.isna(value)) if np.ndim(value) == 0 else False
