"""The committed results files of the benchmarks: CSV rows read whole, and one row appended atomically under a lock."""
from __future__ import annotations

import csv
import fcntl
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ssrec.atomic import atomic_write_text


def read_rows(path: Path) -> list[dict[str, str]]:
    """Every row of ``path`` (none when it does not exist yet)."""
    return list(csv.DictReader(path.open())) if path.exists() else []


def append_row(path: Path, row: dict[str, Any], fields: Sequence[str]) -> None:
    """Add ``row`` to ``path``: rewritten atomically, under a lock, so two benchmark processes may share it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows([*read_rows(path), {k: str(v) for k, v in row.items()}])
        atomic_write_text(path, buffer.getvalue())
