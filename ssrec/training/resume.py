"""What a training loop needs to continue after being killed: the training state file of a run folder.

A loop with a run folder writes ``DIR/STAGE-state.pt`` at the end of every epoch (atomically, checksummed
like every checkpoint): model and optimizer state, the random generators (torch's default one, the loop's
own, and CUDA's when used), the epoch, and whatever bookkeeping the loop adds (history, early stopping).
Resuming from it repeats the interrupted epoch from the same random state, so on CPU a run killed at any
point and resumed ends with exactly the weights of an uninterrupted run.

``identity`` is what must not change between the interrupted run and its continuation (data, model,
batch size, seed, ...); a resume with different settings is refused with the differences named. Two paths
that name the same existing file (``../data/x.txt`` and ``/home/me/data/x.txt``) are the same setting.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ssrec.contracts import Encoder
from ssrec.io.checkpoint import CheckpointError, load_payload, save_payload

KIND = "training-state"


def state_path(out: Path, stage: str) -> Path:
    """Where the ``stage`` ("pretrain" or "finetune") loop of run folder ``out`` keeps its state."""
    return Path(out) / f"{stage}-state.pt"


def capture_rng(generators: dict[str, torch.Generator]) -> dict[str, torch.Tensor]:
    """The states of torch's default CPU generator, every CUDA device's (when initialised) and ``generators``."""
    states = {"torch": torch.get_rng_state(), **{name: g.get_state() for name, g in generators.items()}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states.update({f"cuda:{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return states


def restore_rng(states: dict[str, torch.Tensor], generators: dict[str, torch.Generator]) -> None:
    """Put back what ``capture_rng`` recorded."""
    torch.set_rng_state(states["torch"])
    for name, g in generators.items():
        g.set_state(states[name])
    for key, s in states.items():
        if key.startswith("cuda:"):
            torch.cuda.set_rng_state(s, int(key.split(":")[1]))


def save_training_state(out: Path, stage: str, *, epoch: int, identity: dict[str, Any], model: nn.Module | Encoder,
                        optimizer: torch.optim.Optimizer, generators: dict[str, torch.Generator],
                        **bookkeeping: Any) -> None:
    """Write ``out/STAGE-state.pt`` for the end of ``epoch``."""
    save_payload(state_path(out, stage), {
        "kind": KIND, "stage": stage, "epoch": epoch, "identity": identity,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(), "rng": capture_rng(generators), "bookkeeping": bookkeeping})


def load_training_state(out: Path, stage: str, identity: dict[str, Any]) -> dict[str, Any]:
    """Read and check ``out/STAGE-state.pt``; a missing file or other settings raise ``CheckpointError``."""
    path = state_path(out, stage)
    if not path.is_file():
        raise CheckpointError(f"{path}: no {stage} state to resume from (was the run started with a run "
                              "folder, and did it finish one epoch?)")
    state = load_payload(path)
    if state.get("kind") != KIND or state.get("stage") != stage:
        raise CheckpointError(f"{path}: not a {stage} training state (kind {state.get('kind')!r}, "
                              f"stage {state.get('stage')!r})")
    changed = _differences(state["identity"], identity)
    if changed:
        raise CheckpointError(f"{path}: cannot resume with other settings than the run's: " + "; ".join(changed)
                              + " (pass the run's options again, or start a new run)")
    return state


def restore(state: dict[str, Any], model: nn.Module | Encoder, optimizer: torch.optim.Optimizer,
            generators: dict[str, torch.Generator]) -> None:
    """Load a training state's weights, optimizer state and random states into a freshly built loop."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    restore_rng(state["rng"], generators)


def _differences(saved: Any, now: Any, where: str = "") -> list[str]:
    """Human-readable differences between two nested dicts of settings."""
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in sorted(set(saved) | set(now), key=str):
            name = f"{where}.{key}" if where else str(key)
            out.extend(_differences(saved.get(key, "<absent>"), now.get(key, "<absent>"), name))
        return out
    if isinstance(saved, (list, tuple)) and isinstance(now, (list, tuple)):
        saved, now = list(saved), list(now)
    same = saved == now or (isinstance(saved, str) and isinstance(now, str) and _same_file(saved, now))
    return [] if same else [f"{where} is {_short(now)} now, {_short(saved)} in the run"]


def _same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are paths of one existing file."""
    try:
        return os.path.isfile(a) and os.path.isfile(b) and os.path.samefile(a, b)
    except (OSError, ValueError):  # not a path at all (embedded NUL, too long)
        return False


def _short(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters (a list of 12,000 item ids is named, not printed)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
