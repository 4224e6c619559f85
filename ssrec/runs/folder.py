"""A run folder: which files each stage writes, when a folder may be reused, and the JSON-lines epoch log.

    DIR/config.toml | pretrain-config.toml | finetune-config.toml   the run spec (repeats the run)
    DIR/pretrained.pt, pretrained-epoch-K.pt, pretrain.json, pretrain-state.pt      pre-training
    DIR/model.pt, metrics.json, finetune-state.pt, negatives.txt                    fine-tuning
    DIR/log.jsonl                                                                   one line per epoch, both stages

A folder holding any file of a stage is never overwritten unless asked (``overwrite``), or continued
(``resume``). A running run owns its folder (``owned``: an exclusive lock on ``DIR/.ssrec-lock`` that the
operating system releases when the process ends, so a crashed run's successor finds it free). Every file
goes through ``ssrec.atomic``. Under ``torchrun`` only rank 0 writes.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from ssrec import distributed
from ssrec.atomic import atomic_write_text

log = logging.getLogger(__name__)

#: what each stage writes into a run folder (log.jsonl is shared: each stage keeps the other's lines)
STAGE_FILES = {"pretrain": ("pretrained.pt", "pretrain.json", "pretrain-state.pt", "pretrained-epoch-*.pt"),
               "finetune": ("model.pt", "metrics.json", "finetune-state.pt", "negatives.txt")}


class Reuse(Enum):
    """What to do with a folder that already holds a run of the stage."""

    REFUSE = "refuse"  # the default: say so, change nothing
    OVERWRITE = "overwrite"
    RESUME = "resume"


def reuse_of(*, overwrite: bool, resume: bool) -> Reuse:
    """The ``Reuse`` that ``--overwrite`` / ``--resume`` ask for."""
    if overwrite and resume:
        raise ValueError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    return Reuse.RESUME if resume else Reuse.OVERWRITE if overwrite else Reuse.REFUSE


def config_name(command: str) -> str:
    """The file a run folder keeps ``command``'s run spec in."""
    return "config.toml" if command == "run" else f"{command}-config.toml"


def check_folder(out: Path, stage: str, reuse: Reuse) -> None:
    """Refuse ``out`` for ``stage`` before anything is computed or written, unless ``reuse`` allows it."""
    if reuse is Reuse.RESUME:
        if not out.is_dir():
            raise ValueError(f"--resume: {out} is not a run folder")
        return
    existing = sorted(p.name for pattern in STAGE_FILES[stage] for p in out.glob(pattern))
    if existing and reuse is Reuse.REFUSE:
        raise FileExistsError(f"{out} already holds a {stage} run ({', '.join(existing)}); choose another --out, "
                              "pass --overwrite to replace it or --resume to continue it")


LOCK_NAME = ".ssrec-lock"
_held: dict[Path, tuple[int, int]] = {}  # folder -> (open lock file, how many nested owners in this process)


@contextlib.contextmanager
def owned(out: Path) -> Iterator[None]:
    """Hold ``out`` for this run: another process that asks for it meanwhile is refused, naming this one.

    Re-entrant within a process (``ssrec run`` holds the folder for both stages). The lock file, which names
    its owner, is removed when the run ends; one left by a process that died is free again (``flock`` dies
    with its owner). A folder made here and left empty (the run was refused) is removed again.
    """
    if not distributed.is_main():
        yield
        return
    import fcntl

    created = not out.exists()
    key = out.resolve()
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
    else:
        out.mkdir(parents=True, exist_ok=True)
        path = key / LOCK_NAME
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 200).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise FileExistsError(f"{out} is in use by a running ssrec run ({owner}); wait for it or choose "
                                      "another --out") from None
            if path.exists() and os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
            os.close(fd)  # its owner removed the file between our open and our lock: take a fresh one
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        _held[key] = (fd, 1)
        for stale in key.glob(".*.tmp"):  # half-written files of a run killed mid-write: no writer is left
            log.info("%s: removing %s, left by a run killed while writing it", out, stale.name)
            stale.unlink(missing_ok=True)
    try:
        yield
    finally:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
        else:
            del _held[key]
            (key / LOCK_NAME).unlink(missing_ok=True)  # before the lock is released: no one holds a removed file
            os.close(fd)
            if created and not any(key.iterdir()):  # a run refused before writing anything
                key.rmdir()


def in_use(out: Path) -> bool:
    """Whether a running process owns ``out`` (``owned``); a dead owner's lock is free."""
    import fcntl

    lock = out / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a run's JSON record atomically (rank 0 only under torchrun)."""
    if distributed.is_main():
        atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a log.jsonl; a torn last line (a kill mid-write) is dropped with a warning naming the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                log.warning("%s:%d: a torn last line (the run was killed while writing it); dropped", path, number)
                break
            raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg}); the run log was edited or damaged") \
                from None
    return entries


class EpochLog:
    """Appends one JSON line per epoch to ``DIR/log.jsonl`` (``{"stage", "epoch", losses, metrics, seconds}``
    plus ``fields``, e.g. fine-tuning's ``selected_by``), so that a long run can be followed, or read after it
    was stopped.

    A new run drops the stage's old lines (the other stage's stay); a resumed one keeps them through the
    epoch it resumes after.
    """

    def __init__(self, out: Path, stage: str, keep_through: int = 0, fields: dict[str, Any] | None = None) -> None:
        self.path, self.stage, self.fields = out / "log.jsonl", stage, fields or {}
        if self.path.exists():
            kept = [entry for entry in read_log(self.path)
                    if entry.get("stage") != stage or entry["epoch"] <= keep_through]
            atomic_write_text(self.path, "".join(json.dumps(entry) + "\n" for entry in kept))

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"stage": self.stage, **logs, **self.fields, "epoch": epoch}) + "\n")


def epoch_log(out: Path, stage: str, resumed_after: int, **fields: Any) -> EpochLog | None:
    """The run's log.jsonl writer for ``stage`` (None on ranks other than 0)."""
    return EpochLog(out, stage, keep_through=resumed_after, fields=fields) if distributed.is_main() else None
