"""Import the S3-Rec authors' released checkpoints (plain state dicts of their S3RecModel).

The encoder tensors are renamed into ssrec's ``transformer`` backbone; the pre-training heads
(``attribute_embeddings``, ``aap_norm``, ``mip_norm``, ``map_norm``, ``sp_norm``) are kept unchanged
under ``"released_heads"`` for the S3-Rec objectives. Sizes are read from the tensors; the number of
attention heads is not recorded in the release and defaults to its value, 2.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import torch

from ssrec.contracts import Encoder
from ssrec.io.checkpoint import CheckpointError, read_torch_file, save_checkpoint
from ssrec.plugins import create_backbone

log = logging.getLogger(__name__)

_FIXED = {"item_embeddings.weight": "item_embeddings.weight",
          "position_embeddings.weight": "position_embeddings.weight",
          "LayerNorm.weight": "embedding_norm.weight", "LayerNorm.bias": "embedding_norm.bias"}
_LAYER_PARTS = {"attention.query": "attention.query", "attention.key": "attention.key",
                "attention.value": "attention.value", "attention.dense": "attention.output",
                "attention.LayerNorm": "attention.norm", "intermediate.dense_1": "feed_forward.up",
                "intermediate.dense_2": "feed_forward.down", "intermediate.LayerNorm": "feed_forward.norm"}
_LAYER = re.compile(r"item_encoder\.layer\.(\d+)\.(\w+\.\w+)\.(weight|bias)$")
HEAD_NAMES = ("attribute_embeddings.weight", "aap_norm.weight", "aap_norm.bias", "mip_norm.weight",
              "mip_norm.bias", "map_norm.weight", "map_norm.bias", "sp_norm.weight", "sp_norm.bias")
#: released head tensor -> its parameter in an ssrec composition (``ssrec.compose``) of the S3-Rec objectives.
COMPOSITION_NAMES = {"attribute_embeddings.weight": "attribute_embeddings.weight",
                     **{f"{obj}_norm.{kind}": f"objectives.{obj}.projection.{kind}"
                        for obj in ("aap", "mip", "map", "sp") for kind in ("weight", "bias")}}


def load_released_heads(model: torch.nn.Module, heads: dict[str, torch.Tensor]) -> list[str]:
    """Copy the released pre-training heads into a composition's objectives that exist; return the names loaded.

    A head whose shape differs from the composition's (another hidden size or attribute count) is an error.
    """
    own = model.state_dict()
    loaded = []
    for released, name in COMPOSITION_NAMES.items():
        if released not in heads or name not in own:
            continue
        if own[name].shape != heads[released].shape:
            raise CheckpointError(f"released head {released} has shape {tuple(heads[released].shape)}, the "
                                  f"composition's {name} {tuple(own[name].shape)}")
        own[name] = heads[released]
        loaded.append(name)
    model.load_state_dict(own)
    return loaded


def ssrec_name(released: str) -> str | None:
    """ssrec ``transformer`` parameter name of a released encoder tensor (None for a pre-training head)."""
    if released in _FIXED:
        return _FIXED[released]
    match = _LAYER.match(released)
    if match and match.group(2) in _LAYER_PARTS:
        return f"layers.{match.group(1)}.{_LAYER_PARTS[match.group(2)]}.{match.group(3)}"
    return None


def convert_released_state(state: dict[str, torch.Tensor], source: str,
                           num_heads: int = 2) -> tuple[Encoder, dict[str, torch.Tensor]]:
    """Build the ``transformer`` backbone holding a released state dict's encoder; return it and the heads."""
    if "item_embeddings.weight" not in state or "position_embeddings.weight" not in state:
        raise CheckpointError(f"{source}: not an S3-Rec release checkpoint (no item_embeddings/position_embeddings)")
    items, hidden = state["item_embeddings.weight"].shape
    layers = 1 + max((int(m.group(1)) for k in state if (m := _LAYER.match(k))), default=-1)
    inner = state["item_encoder.layer.0.intermediate.dense_1.weight"].shape[0] if layers else 4 * hidden
    encoder = create_backbone("transformer", num_items=items - 2, hidden_size=hidden, num_layers=layers,
                              num_heads=num_heads, inner_size=inner,
                              max_len=state["position_embeddings.weight"].shape[0])
    own = encoder.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unknown = []
    for name, tensor in state.items():
        target = ssrec_name(name)
        if target is None:
            if name not in HEAD_NAMES:
                unknown.append(name)
            continue
        if own[target].shape != tensor.shape:
            raise CheckpointError(f"{source}: {name} has shape {tuple(tensor.shape)}, "
                                  f"expected {tuple(own[target].shape)}")
        mapped[target] = tensor
    missing = sorted(set(own) - set(mapped))
    if missing or unknown:
        raise CheckpointError(f"{source}: not the released S3-Rec layout; missing {missing[:5]}, unknown {unknown[:5]}")
    encoder.load_state_dict(mapped)
    return encoder, {k: state[k] for k in HEAD_NAMES if k in state}


def import_released_checkpoint(src: str | Path, dst: str | Path, num_heads: int = 2) -> dict[str, Any]:
    """Convert the authors' checkpoint ``src`` into an ssrec pre-trained checkpoint at ``dst`` (atomically)."""
    src = Path(src)
    state = read_torch_file(src)
    if not isinstance(state, dict):
        raise CheckpointError(f"{src}: expected a state dict, found {type(state).__name__}")
    encoder, heads = convert_released_state(state, str(src), num_heads)
    num_items = encoder.item_embeddings.num_embeddings - 2
    summary = {"source": str(src), "num_items": num_items, "tensors": len(state),
               "encoder_tensors": len(encoder.state_dict()), "heads": sorted(heads)}
    save_checkpoint(dst, encoder, kind="pretrained", released_heads=heads, imported_from=summary,
                    dataset={"num_items": num_items})
    log.info("imported %s: transformer over %d items, %d encoder tensors, heads %s", src, num_items,
             summary["encoder_tensors"], ", ".join(sorted(heads)))
    return summary
