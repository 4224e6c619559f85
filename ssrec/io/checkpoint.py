"""Checkpoints that carry the model spec with the weights, written atomically.

A checkpoint is a dict saved with ``torch.save``:
``{"format": "ssrec-checkpoint", "version": 2, "sha256": str, "kind": "finetuned" | "pretrained" | ...,
"backbone": {"name": str, "spec": dict}, "state_dict": {...}, "dataset": {...}, "config": {...}, ...}``.
``sha256`` is ``content_digest`` of every other entry; ``load_checkpoint`` recomputes and compares it, so a
file damaged after it was written is refused instead of loaded. Version 1 files (before checksums) are
read with a logged warning. ``rebuild_backbone`` recreates the encoder from the file alone.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch

from ssrec.atomic import atomic_write
from ssrec.contracts import Encoder

FORMAT = "ssrec-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)
log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A file that is not a readable ssrec checkpoint; the message names the file and the problem."""


def content_digest(value: Any) -> str:
    """SHA-256 of nested dicts/lists/tuples of tensors, strings, numbers, booleans and None.

    Independent of how ``torch.save`` lays the file out: tensors contribute dtype, shape and raw bytes,
    dicts their entries in sorted key order.
    """
    digest = hashlib.sha256()

    def feed(v: Any) -> None:
        if isinstance(v, torch.Tensor):
            t = v.detach().cpu().contiguous()
            digest.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(v, dict):
            digest.update(f"D{len(v)}".encode())
            for key in sorted(v, key=repr):
                feed(key)
                feed(v[key])
        elif isinstance(v, (list, tuple)):
            digest.update(f"{type(v).__name__[0]}{len(v)}".encode())
            for item in v:
                feed(item)
        elif v is None or isinstance(v, (str, int, float, bool)):
            digest.update(f"{type(v).__name__}:{v!r};".encode())
        else:
            raise TypeError(f"a checkpoint entry of type {type(v).__name__} cannot be checksummed")

    feed(value)
    return digest.hexdigest()


def save_payload(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (no "format"/"version"/"sha256" keys) as a checksummed checkpoint, atomically."""
    body = {"format": FORMAT, "version": VERSION, **payload}
    body["sha256"] = content_digest(body)
    atomic_write(path, lambda tmp: torch.save(body, tmp))


def save_checkpoint(path: str | Path, encoder: Encoder, *, kind: str, **extra: Any) -> None:
    """Save ``encoder`` (its registered name, spec and weights) plus ``extra`` entries, atomically."""
    save_payload(path, {
        "kind": kind,
        "backbone": {"name": encoder.name, "spec": dict(encoder.spec),
                     "architecture": type(encoder).__name__},
        "state_dict": {k: v.detach().cpu() for k, v in encoder.state_dict().items()}, **extra})


def read_torch_file(path: Path) -> Any:
    """``torch.load`` of a file (tensors on CPU, weights only); a missing or unreadable file raises
    ``CheckpointError``."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc


def load_payload(path: str | Path) -> dict[str, Any]:
    """Read an ssrec checkpoint file and verify its checksum; any problem is a ``CheckpointError`` naming the file."""
    path = Path(path)
    payload = read_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an ssrec checkpoint (expected a dict with format={FORMAT!r}; "
                              "use `ssrec import-checkpoint` for the S3-Rec authors' files)")
    version = payload.get("version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(f"{path}: checkpoint version {version!r}, this ssrec reads versions "
                              f"{', '.join(map(str, READABLE_VERSIONS))}")
    if version == 1:
        log.warning("%s: a version-1 checkpoint, written before checksums; its content is not verified", path)
        return payload
    recorded = payload.pop("sha256", None)
    if recorded is None:
        raise CheckpointError(f"{path}: checkpoint lacks its 'sha256' checksum")
    try:
        actual = content_digest(payload)
    except TypeError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    if actual != recorded:
        raise CheckpointError(f"{path}: checksum mismatch (recorded {recorded[:12]}..., content {actual[:12]}...); "
                              "the file was damaged or edited after it was written")
    return payload


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read, verify and validate a model checkpoint (tensors on CPU)."""
    path = Path(path)
    payload = load_payload(path)
    for key in ("kind", "backbone", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks the field {key!r}")
    return payload


def rebuild_backbone(payload: dict[str, Any]) -> Encoder:
    """Recreate the encoder a checkpoint describes and load its weights."""
    from ssrec.plugins import create_backbone

    encoder = create_backbone(payload["backbone"]["name"], **payload["backbone"]["spec"])
    encoder.load_state_dict(payload["state_dict"])
    return encoder
