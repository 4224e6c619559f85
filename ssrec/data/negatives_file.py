"""Fixed negatives of the "sampled" evaluation protocol: ``user neg1 ... negK`` per line.

This is the format of the S3-Rec release's ``LastFM_sample.txt`` (99 negatives per user). Rows are matched
to the data set by user id, so the file's line order does not matter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ssrec.atomic import atomic_write_text
from ssrec.data.dataset import SequenceDataset
from ssrec.data.errors import DataFormatError
from ssrec.data.text_file import read_text, text_lines


def read_negatives(path: str | Path, dataset: SequenceDataset, *, count: int = 99) -> np.ndarray:
    """Read the negatives of every user of ``dataset``: int64 array (num_users, count), in dataset user order.

    Contract: one line per user, ``user neg1 ... neg<count>``, whitespace separated; the user token matches
    ``dataset.users``; negatives are distinct item ids in 1..N and none is an item of that user's sequence
    (the S3-Rec release's LastFM_sample.txt has no such overlap). A trailing newline is fine.

    Raises:
        DataFormatError: naming the file and the 1-based line: an empty line, an unknown or repeated user,
            a wrong number of negatives, a token that is not a positive integer, an id outside 1..N, a
            repeated negative, a negative the user interacted with; a user of the data set without a line
            (line None: no line is to blame).
    """
    path = Path(path)
    text = read_text(path)
    lines = text_lines(text)
    row_of = {u: r for r, u in enumerate(dataset.users)}
    out = np.zeros((dataset.num_users, count), dtype=np.int64)
    line_of_row = np.zeros(dataset.num_users, dtype=np.int64)  # 0: no line yet
    shape = f"expected 'user neg1 ... neg{count}'"
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            raise DataFormatError(path, number, f"empty line; {shape}")
        user, negs = parts[0], parts[1:]
        row = row_of.get(user)
        if row is None:
            raise DataFormatError(path, number, f"user {user!r} is not in the data set {dataset.name!r}")
        if line_of_row[row]:
            raise DataFormatError(path, number, f"user {user!r} repeats line {line_of_row[row]}")
        if len(negs) != count:
            raise DataFormatError(path, number, f"user {user!r} has {len(negs)} negatives; {shape}")
        joined = "".join(negs)
        if not (joined.isascii() and joined.isdigit()) or max(map(len, negs)) > 18:
            bad = next(t for t in negs if not (t.isascii() and t.isdigit()) or len(t) > 18)
            raise DataFormatError(path, number, f"negative {bad!r} is not a positive integer item id")
        out[row] = np.fromiter(map(int, negs), dtype=np.int64, count=count)
        line_of_row[row] = number
    missing = np.flatnonzero(line_of_row == 0)
    if len(missing):
        raise DataFormatError(path, None, f"{len(missing)} users of {dataset.name!r} have no line, the first "
                              f"{dataset.users[missing[0]]!r}; expected one line per user")
    _check_values(path, dataset, out, line_of_row)
    return out


def _check_values(path: Path, dataset: SequenceDataset, out: np.ndarray, line_of_row: np.ndarray) -> None:
    """Range, distinctness and no-own-item checks for all rows at once; the first bad row is named."""
    n = dataset.num_items
    bad = (out < 1) | (out > n)
    if bad.any():
        row, col = np.argwhere(bad)[np.argmin(line_of_row[np.argwhere(bad)[:, 0]])]
        raise DataFormatError(path, int(line_of_row[row]), f"negative {int(out[row, col])} is not an item id "
                              f"in 1..{n}")
    ordered = np.sort(out, axis=1)
    dup_rows = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
    if len(dup_rows):
        row = dup_rows[np.argmin(line_of_row[dup_rows])]
        dup = ordered[row, 1:][ordered[row, 1:] == ordered[row, :-1]][0]
        raise DataFormatError(path, int(line_of_row[row]), f"negative {int(dup)} appears twice; expected "
                              f"distinct negatives")
    stride = n + 2
    owners = np.repeat(np.arange(dataset.num_users, dtype=np.int64), dataset.lengths)
    keys = np.unique(owners * stride + dataset.items)
    query = (np.arange(dataset.num_users, dtype=np.int64)[:, None] * stride + out).reshape(-1)
    pos = np.searchsorted(keys, query).clip(max=max(len(keys) - 1, 0))
    own = (keys[pos] == query).reshape(out.shape) if len(keys) else np.zeros(out.shape, dtype=bool)
    if own.any():
        rows = np.flatnonzero(own.any(axis=1))
        row = rows[np.argmin(line_of_row[rows])]
        item = int(out[row][own[row]][0])
        raise DataFormatError(path, int(line_of_row[row]), f"negative {item} is an item of user "
                              f"{dataset.users[row]!r}; {int(own.sum())} such negatives in {len(rows)} lines")


def write_negatives(path: str | Path, dataset: SequenceDataset, negatives: np.ndarray) -> None:
    """Write ``negatives`` (num_users, K), rows in dataset user order, as ``user neg1 ... negK`` lines.

    The file is written to a temporary file in the same folder and moved into place with ``os.replace``,
    so a reader never sees half a file. ``read_negatives(path, dataset, count=K)`` gives the array back.

    Raises:
        ValueError: ``negatives`` is not an integer array with one row per user, or a user id is not one
            whitespace-free token.
    """
    negatives = np.asarray(negatives)
    if negatives.ndim != 2 or negatives.shape[0] != dataset.num_users or not np.issubdtype(negatives.dtype,
                                                                                         np.integer):
        raise ValueError(f"negatives must be an integer array of shape ({dataset.num_users}, K), "
                         f"not {negatives.dtype} {negatives.shape}")
    spaced = next((u for u in dataset.users if len(u.split()) != 1 or u != u.strip()), None)
    if spaced is not None:
        raise ValueError(f"user id {spaced!r} is not one whitespace-free token; it cannot be written")
    text = "".join(f"{user} {' '.join(map(str, row))}\n" for user, row in zip(dataset.users, negatives.tolist()))
    atomic_write_text(path, text)
