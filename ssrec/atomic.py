"""The one way ssrec writes a file: to a temporary file beside it, flushed to disk, then renamed over it.

A crash or a kill leaves either the old file or the new one, never a partial file; the result has the
mode an ordinary ``open(path, "w")`` would give it (0644 under the usual umask), not ``mkstemp``'s private
0600. A full disk is reported as such, naming the file, and the temporary file is removed.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

NEARLY_FULL = 1 << 20  # bytes free below which a failed write is reported as a full disk


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # torch.save reports a full disk as "basic_ios::clear: iostream error": ask the file system
        full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        if full or (isinstance(exc, (OSError, RuntimeError)) and shutil.disk_usage(path.parent).free < NEARLY_FULL):
            raise OSError(errno.ENOSPC, f"{path}: the disk is full ({shutil.disk_usage(path.parent).free} bytes "
                                        "free); nothing was written and files already saved are intact") from exc
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
