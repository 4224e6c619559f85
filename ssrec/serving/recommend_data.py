"""``ssrec recommend``: recommendations for the users of a data file, written as CSV, JSON lines or parquet.

Histories come from the data file (the whole history by default; ``history="train"`` drops each user's last
two items, the leave-one-out validation and test targets). Item ids are translated from the data's numbering
to the model's through their ids, so the file may be newer than the model; ids the model does not know are an
error, or with ``on_unknown="skip"`` are dropped from the histories (logged, counted). The output is written
to a temporary file and renamed when complete: an interrupted run leaves no partial file.
"""
from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np

from ssrec.atomic import atomic_write
from ssrec.data.dataset import SequenceDataset
from ssrec.data.text_file import read_text
from ssrec.evaluation.ranking import concatenated_ranges
from ssrec.extras import require
from ssrec.progress import progress
from ssrec.serving.recommender import Recommender
from ssrec.serving.vocabulary import OnUnknown, UnknownIdError

log = logging.getLogger(__name__)
History = Literal["full", "train"]
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
HELD_OUT = 2  # leave-one-out: the validation and the test item


@dataclass(frozen=True)
class RecommendSummary:
    users: int
    skipped_users: int
    skipped_items: int
    out: str


def output_format(out: Path | None) -> str:
    """The format ``out``'s suffix names (no ``out``: CSV on standard output)."""
    if out is None:
        return "csv"
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"--out {out}: unknown suffix {out.suffix or '(none)'!r}; expected "
                         f"{', '.join(FORMATS)}")
    return fmt


def read_user_ids(path: Path, dataset: SequenceDataset, on_unknown: OnUnknown) -> tuple[np.ndarray, int]:
    """Rows of the users listed in ``path`` (one id per line; blank lines ignored), and how many were skipped."""
    row_of = {u: r for r, u in enumerate(dataset.users)}
    rows, skipped = [], 0
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        user = line.strip()
        if not user:
            continue
        if user not in row_of:
            if on_unknown == "error":
                raise UnknownIdError(f"{path}, line {number}: user {user!r} is not in {dataset.source} "
                                     "(--skip-unknown skips such users)")
            skipped += 1
            continue
        rows.append(row_of[user])
    if not rows:
        raise ValueError(f"{path}: no user of {dataset.source} listed")
    return np.asarray(rows, dtype=np.int64), skipped


def recommend_data(recommender: Recommender, dataset: SequenceDataset, *, k: int = 10, exclude_seen: bool = True,
                   history: History = "full", users_file: Path | None = None, on_unknown: OnUnknown = "error",
                   out: Path | None = None, overwrite: bool = False, stdout: IO[str] | None = None) -> RecommendSummary:
    """Top-``k`` recommendations for the users of ``dataset`` (all, or those of ``users_file``) into ``out``."""
    fmt = output_format(out)
    recommender.check_k(k)
    if out is not None and out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; it is kept (--overwrite replaces it)")
    lookup, unknown_items = recommender.vocabulary.translation_from(dataset, dataset.source)
    if unknown_items and on_unknown == "error":
        first = next(t for t, n in zip(dataset.item_vocabulary, lookup[1:]) if n == 0)
        raise UnknownIdError(f"{dataset.source}: {unknown_items} item ids are unknown to the model (first: {first!r}); "
                             "--skip-unknown drops them from the histories")
    rows, skipped_users = (read_user_ids(users_file, dataset, on_unknown) if users_file is not None
                           else (np.arange(dataset.num_users), 0))
    starts, ends = dataset.offsets[rows], dataset.offsets[rows + 1] - (HELD_OUT if history == "train" else 0)
    lengths = ends - starts
    mapped = lookup[dataset.items]  # (interactions,) the model's numbers, 0 for unknown items
    take = concatenated_ranges(starts, ends)
    kept = mapped[take]
    owner = np.repeat(np.arange(len(rows)), lengths)
    skipped_items = int((kept == 0).sum())
    owner, kept = owner[kept > 0], kept[kept > 0]
    counts = np.bincount(owner, minlength=len(rows))
    if (counts == 0).any():
        empty = dataset.users[rows[int(np.argmax(counts == 0))]]
        raise ValueError(f"user {empty!r} has no item the model knows; nothing to recommend from")
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if skipped_items:
        log.warning("dropped %d interactions with %d item ids unknown to the model", skipped_items, unknown_items)
    if skipped_users:
        log.warning("skipped %d users not in %s", skipped_users, dataset.source)
    user_ids = [dataset.users[r] for r in rows]
    model_users = recommender.user_rows(user_ids, len(rows)) if recommender.needs_users else None
    chunks = recommender.top_k(kept, offsets, k, exclude_seen=exclude_seen, users=model_users)
    total = -(-len(rows) // recommender.chunk_rows)  # chunks
    results = _with_users(progress(chunks, total, "recommend"), user_ids)
    if out is None:
        _write_csv(results, stdout or sys.stdout)
    else:
        atomic_write(out, lambda tmp: _WRITERS[fmt](results, tmp))
    log.info("recommended %d items to each of %d users%s", k, len(rows), f"; wrote {out}" if out else "")
    return RecommendSummary(len(rows), skipped_users, skipped_items, str(out) if out else "-")


Rows = Iterator[tuple[str, list[str], np.ndarray]]


def _with_users(chunks: Iterator[tuple[list[list[str]], np.ndarray]], users: list[str]) -> Rows:
    row = 0
    for items, scores in chunks:
        for r in range(len(items)):
            yield users[row], items[r], scores[r, :len(items[r])]
            row += 1


def _write_csv(results: Rows, stream: IO[str]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["user", "rank", "item", "score"])
    for user, items, scores in results:
        writer.writerows((user, rank, item, f"{score:.6g}") for rank, (item, score) in enumerate(zip(items, scores), 1))


def _csv_file(results: Rows, path: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        _write_csv(results, f)


def _jsonl_file(results: Rows, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for user, items, scores in results:
            f.write(json.dumps({"user": user, "items": items, "scores": [round(float(s), 6) for s in scores]}) + "\n")


def _parquet_file(results: Rows, path: str) -> None:
    pa = require("pyarrow", "pandas", "parquet output")
    import pyarrow.parquet as pq

    columns: dict[str, list[object]] = {"user": [], "rank": [], "item": [], "score": []}
    for user, items, scores in results:
        columns["user"].extend([user] * len(items))
        columns["rank"].extend(range(1, len(items) + 1))
        columns["item"].extend(items)
        columns["score"].extend(float(s) for s in scores)
    types = {"user": pa.string(), "rank": pa.int32(), "item": pa.string(), "score": pa.float32()}
    table = pa.table({name: pa.array(values, types[name]) for name, values in columns.items()})
    pq.write_table(table, path)


_WRITERS = {"csv": _csv_file, "jsonl": _jsonl_file, "parquet": _parquet_file}
