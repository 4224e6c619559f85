"""``ssrec export``: a trained model in the forms serving stacks take, each a folder with a ``config.json``.

- ``safetensors``: ``model.safetensors`` (the weights) and ``config.json`` (backbone name and spec, item
  ids); ``load_safetensors`` rebuilds the encoder bit for bit.
- ``onnx``: ``model.onnx``, the scoring path: input ``items`` (batch, length) int64, left-padded with 0,
  items numbered as in ``item_ids.json`` (line i of it is item i + 1), plus ``users`` (batch,) for a backbone
  with a user embedding; output ``scores`` (batch, N), column j the score of ``item_ids[j]``. Batch and
  length are dynamic (length 2 to max_len: a one-item history is left-padded to 2). The export is checked
  against onnxruntime before it is kept. Excluding the history is left to the service.
- ``embeddings``: ``item_embeddings.npy`` (N, H) float32 and ``item_ids.json``, for an approximate
  nearest-neighbour index: a user's score of item i is the inner product of its sequence representation
  with row i - 1.

The folder is written beside ``out`` and renamed into place when complete; an existing ``out`` is kept
unless ``overwrite``.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssrec.contracts import USERS, Encoder, sequence_summary
from ssrec.extras import require
from ssrec.io.checkpoint import load_checkpoint, rebuild_backbone
from ssrec.serving.vocabulary import Vocabulary

log = logging.getLogger(__name__)
FORMATS = ("safetensors", "onnx", "embeddings")
EXPORT_FORMAT = "ssrec-export"
ONNX_TOLERANCE = 1e-4  # largest absolute score difference onnxruntime may show against torch


class ScoringPath(nn.Module):
    """What a service runs: the scores (B, N) of items 1..N after left-padded histories ``items`` (B, L)."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, items: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        h = sequence_summary(self.encoder, items, causal=True, users=users)  # (B, H)
        return h @ self.encoder.item_embeddings.weight[1:-1].T  # (B, N): column j is item j + 1


def export_checkpoint(checkpoint: str | Path, fmt: str, out: str | Path, *, overwrite: bool = False,
                      vocabulary: Vocabulary | None = None) -> dict[str, Any]:
    """Export ``checkpoint`` as ``fmt`` into the folder ``out``; returns what was written (and the ONNX check)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; it is kept (--overwrite replaces it)")
    payload = load_checkpoint(checkpoint)
    encoder = rebuild_backbone(payload).eval()
    record = payload.get("vocabulary")
    vocabulary = vocabulary or (Vocabulary.from_record(record, str(checkpoint)) if record is not None else None)
    if vocabulary is None:
        raise ValueError(f"{checkpoint}: the checkpoint records no item ids; export it from a checkpoint written by "
                         "this ssrec")
    config = {"format": EXPORT_FORMAT, "version": 1, "kind": fmt, "source": str(checkpoint),
              "source_sha256": payload.get("sha256"),
              "backbone": {"name": encoder.name, "spec": dict(encoder.spec)}}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        report = _WRITERS[fmt](encoder, vocabulary, staging, config)
        (staging / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
        _replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("exported %s as %s into %s", checkpoint, fmt, out)
    return {"out": str(out), "files": sorted(p.name for p in out.iterdir()), **report}


def load_safetensors(folder: str | Path) -> tuple[Encoder, Vocabulary]:
    """The encoder (eval mode) and item ids of a ``safetensors`` export folder."""
    safetensors_torch = require("safetensors.torch", "export", "reading a safetensors export")
    from ssrec.plugins import create_backbone

    folder = Path(folder)
    config = _read_config(folder, "safetensors")
    encoder = create_backbone(config["backbone"]["name"], **config["backbone"]["spec"])
    safetensors_torch.load_model(encoder, str(folder / "model.safetensors"), strict=True)
    vocabulary = Vocabulary.from_record(config["vocabulary"], str(folder / "config.json"))
    return encoder.eval(), vocabulary


def _read_config(folder: Path, kind: str) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: not an ssrec export folder (no config.json)")
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != EXPORT_FORMAT or config.get("kind") != kind:
        raise ValueError(f"{path}: not an ssrec {kind} export (format {config.get('format')!r}, kind "
                         f"{config.get('kind')!r})")
    return config


def _write_safetensors(encoder: Encoder, vocabulary: Vocabulary, folder: Path,
                       config: dict[str, Any]) -> dict[str, Any]:
    safetensors_torch = require("safetensors.torch", "export", "safetensors export")
    safetensors_torch.save_model(encoder, str(folder / "model.safetensors"))
    config["vocabulary"] = vocabulary.to_record()
    return {}


def _write_item_ids(vocabulary: Vocabulary, folder: Path) -> None:
    (folder / "item_ids.json").write_text(json.dumps(list(vocabulary.items)) + "\n", encoding="utf-8")


def _write_embeddings(encoder: Encoder, vocabulary: Vocabulary, folder: Path,
                      config: dict[str, Any]) -> dict[str, Any]:
    table = encoder.item_embeddings.weight.detach()[1:-1].float().cpu().numpy()  # (N, H)
    np.save(folder / "item_embeddings.npy", table)
    _write_item_ids(vocabulary, folder)
    config["embeddings"] = {"shape": list(table.shape), "score": "inner product with the sequence representation",
                            "row_of_item": "row j is item_ids[j]"}
    return {}


def _write_onnx(encoder: Encoder, vocabulary: Vocabulary, folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    require("onnx", "export", "ONNX export")
    require("onnxscript", "export", "ONNX export")
    ort = require("onnxruntime", "export", "checking the ONNX export")
    model = ScoringPath(encoder).eval()
    max_len = int(encoder.spec.get("max_len", 50))
    users = USERS in encoder.capabilities
    example = _example_inputs(vocabulary.num_items, max_len, users, batch=3, length=max_len, seed=0)
    batch, length = torch.export.Dim("batch", min=1), torch.export.Dim("length", min=2, max=max_len)
    shapes: dict[str, Any] = {"items": {0: batch, 1: length}, **({"users": {0: batch}} if users else {})}
    path = folder / "model.onnx"
    chatter = io.StringIO()  # the exporter prints its progress and warns about torch internals: kept at DEBUG
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed" and the like: not ours to act on
    try:
        with torch.no_grad(), contextlib.redirect_stdout(chatter), warnings.catch_warnings():
            warnings.simplefilter("ignore", (FutureWarning, UserWarning, DeprecationWarning))
            torch.onnx.export(model, tuple(example.values()), str(path), dynamo=True, input_names=list(example),
                              output_names=["scores"], dynamic_shapes=shapes, external_data=False, verbose=False)
    finally:
        exporter_log.setLevel(level)
    log.debug("torch.onnx.export: %s", chatter.getvalue())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch_size, seq_len in ((1, 2), (5, max(2, max_len // 2)), (4, max_len)):  # other shapes than traced
        inputs = _example_inputs(vocabulary.num_items, max_len, users, batch_size, seq_len, seed=batch_size)
        got = session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]
        with torch.no_grad():
            want = model(*inputs.values()).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
    if worst > ONNX_TOLERANCE:
        raise RuntimeError(f"the ONNX export scores differ from torch's by {worst:.2e} (> {ONNX_TOLERANCE}); not kept")
    _write_item_ids(vocabulary, folder)
    config["onnx"] = {"inputs": list(example), "output": "scores", "min_length": 2, "max_len": max_len,
                      "checked_max_abs_difference": worst}
    return {"onnxruntime_max_abs_difference": worst}


def _example_inputs(num_items: int, max_len: int, users: bool, batch: int, length: int,
                    seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    items = torch.randint(1, num_items + 1, (batch, length), generator=g)
    items[0, : length // 2] = 0  # a left-padded row
    out = {"items": items}
    if users:
        out["users"] = torch.zeros(batch, dtype=torch.long)
    return out


def _replace_folder(staging: Path, out: Path) -> None:
    """Move the finished ``staging`` folder to ``out``; an old ``out`` is removed only once the new one is there."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


_WRITERS = {"safetensors": _write_safetensors, "onnx": _write_onnx, "embeddings": _write_embeddings}
