"""Checkpoints that carry the model spec with the weights, written atomically.

A checkpoint is a dict saved with ``torch.save``:
``{"format": "ssrec-checkpoint", "version": 1, "kind": "finetuned" | "pretrained",
"backbone": {"name": str, "spec": dict}, "state_dict": {...}, "dataset": {...}, "config": {...}, ...}``.
``rebuild_backbone`` recreates the encoder from the file alone.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "ssrec-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable ssrec checkpoint; the message names the file and the problem."""


def atomic_write(path: str | Path, write: Any) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``.

    A crash leaves either the old file or the new one, never a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, encoder: nn.Module, *, kind: str, **extra: Any) -> None:
    """Save ``encoder`` (its registered name, spec and weights) plus ``extra`` entries, atomically."""
    payload = {"format": FORMAT, "version": VERSION, "kind": kind,
               "backbone": {"name": encoder.name, "spec": dict(encoder.spec), "architecture": type(encoder).__name__},
               "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()}, **extra}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_torch_file(path: Path) -> Any:
    """``torch.load`` of a file (tensors on CPU, weights only); a missing or unreadable file raises ``CheckpointError``."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint (tensors on CPU)."""
    path = Path(path)
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an ssrec checkpoint (expected a dict with format={FORMAT!r}; "
                              "use `ssrec import-checkpoint` for the S3-Rec authors' files)")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')!r}, this ssrec reads {VERSION}")
    for key in ("kind", "backbone", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks the field {key!r}")
    return payload


def rebuild_backbone(payload: dict[str, Any]) -> nn.Module:
    """Recreate the encoder a checkpoint describes and load its weights."""
    from ssrec.plugins import create_backbone

    encoder = create_backbone(payload["backbone"]["name"], **payload["backbone"]["spec"])
    encoder.load_state_dict(payload["state_dict"])
    return encoder
