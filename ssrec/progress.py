"""Progress bars with rate and ETA for the long loops (training epochs, full-ranking evaluation).

One line on stderr, redrawn in place at most every ``REDRAW_SECONDS``, and erased when the loop ends
(the epoch's log line follows). Bars are drawn only when stderr is a terminal and they are enabled:
``ssrec --quiet`` and non-terminal output (CI logs, files, pipes) get none, and nothing of the loop
changes either way. Only rank 0 of a distributed job draws.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")
REDRAW_SECONDS = 0.2
_enabled = True


def enable(on: bool) -> bool:
    """Turn bars on or off for this process (the CLI: off with --quiet, for one command); the previous setting."""
    global _enabled
    previous, _enabled = _enabled, on
    return previous


def progress(items: Iterable[T], total: int, label: str, stream: TextIO | None = None) -> Iterator[T]:
    """Yield ``items`` while drawing ``label [#####.....] k/total  rate/s  ETA m:ss`` on ``stream``."""
    from ssrec.distributed import is_main

    stream = stream or sys.stderr
    if not (_enabled and is_main() and total > 0 and stream.isatty()):
        yield from items
        return
    start = last = time.perf_counter()
    done = 0
    try:
        for item in items:
            yield item
            done += 1
            now = time.perf_counter()
            if now - last >= REDRAW_SECONDS or done == total:
                last = now
                stream.write("\r" + bar_line(label, done, total, now - start))
                stream.flush()
    finally:
        stream.write("\r\033[K")  # erase the bar
        stream.flush()


def bar_line(label: str, done: int, total: int, elapsed: float, width: int = 24) -> str:
    """The text of a bar after ``done`` of ``total`` steps in ``elapsed`` seconds."""
    filled = int(width * done / total)
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    eta_text = "--:--" if eta != eta else f"{int(eta) // 60}:{int(eta) % 60:02d}"
    return (f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {rate:.1f}/s  "
            f"ETA {eta_text}")
