"""The committed results files of the benchmarks: CSV rows read whole, and one row appended atomically under a lock."""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ssrec.atomic import atomic_write_text

log = logging.getLogger("results")


def read_rows(path: Path) -> list[dict[str, str]]:
    """Every row of ``path`` (none when it does not exist yet)."""
    return list(csv.DictReader(path.open())) if path.exists() else []


@contextlib.contextmanager
def locked(lock_file: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive lock on ``lock_file`` (made if missing). While another process holds it: with ``wait``,
    wait for it (saying so in the log); without, give False and hold nothing."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            log.info("waiting for another process holding %s", lock_file)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield True


def write_rows(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    """Replace ``path`` atomically with ``rows`` under the header ``fields`` (a missing field left empty), with
    LF line endings: a command copied from a row ends clean."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: str(v) for k, v in row.items()} for row in rows])
    atomic_write_text(path, buffer.getvalue())


def append_row(path: Path, row: dict[str, Any], fields: Sequence[str]) -> None:
    """Add ``row`` to ``path``: rewritten atomically, under a lock, so two benchmark processes may share it."""
    with locked(path.with_suffix(".lock"), wait=True):
        write_rows(path, [*read_rows(path), row], fields)
