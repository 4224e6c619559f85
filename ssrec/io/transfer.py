"""Moving pre-trained weights into a backbone by role: item embeddings, position embeddings, encoder.

The rule, for any pair of backbones (a pre-trained checkpoint -> the backbone to fine-tune):

- ``item_embeddings`` and ``position_embeddings`` load whenever the target has a tensor of that role,
  whatever the architectures (Caser or GRU4Rec can take a Transformer's pre-trained item table).
- ``encoder`` tensors (everything else) load only into the same architecture, by name; a checkpoint of
  another architecture has its encoder tensors skipped, with the reason.
- A shape mismatch, or a same-architecture checkpoint whose encoder tensors do not match the target's
  names (another number of layers), is an error that says which setting differs, never a silent skip.

``transfer_weights`` returns a report of what was loaded, per role, and what was skipped, and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ssrec.contracts import Encoder
from ssrec.io.checkpoint import CheckpointError

ITEM_EMBEDDINGS = "item_embeddings"
POSITION_EMBEDDINGS = "position_embeddings"
ENCODER = "encoder"
_SHARED_ROLES = {ITEM_EMBEDDINGS: "item_embeddings.weight", POSITION_EMBEDDINGS: "position_embeddings.weight"}
_HINT = {ITEM_EMBEDDINGS: "rows are num_items + 2, columns hidden_size",
         POSITION_EMBEDDINGS: "rows are max_len, columns hidden_size", ENCODER: "build the backbone with the "
         "checkpoint's spec"}


def parameter_role(name: str) -> str:
    """The role of a backbone tensor, from its name."""
    for role, tensor in _SHARED_ROLES.items():
        if name == tensor:
            return role
    return ENCODER


@dataclass
class TransferReport:
    """What ``transfer_weights`` did: target tensor names loaded per role, checkpoint tensors skipped (with why)."""

    loaded: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # target tensors the checkpoint does not cover (initialised)

    def summary(self) -> str:
        loaded = ", ".join(f"{role} ({len(names)} tensor{'s' * (len(names) != 1)})"
                           for role, names in self.loaded.items())
        text = f"loaded {loaded or 'nothing'}"
        if self.skipped:
            reasons = sorted(set(self.skipped.values()))
            text += f"; skipped {len(self.skipped)} ({'; '.join(reasons)})"
        if self.kept:
            text += f"; {len(self.kept)} tensors keep their initialisation"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"loaded": self.loaded, "skipped": self.skipped, "kept": self.kept}


def source_architecture(payload: dict[str, Any]) -> str:
    """The class name of the checkpoint's backbone (recorded, or found by building it from its spec)."""
    backbone = payload["backbone"]
    if "architecture" in backbone:
        return backbone["architecture"]
    from ssrec.plugins import create_backbone

    with torch.device("meta"):  # no memory, no initialisation cost: only the class is needed
        return type(create_backbone(backbone["name"], **backbone["spec"])).__name__


def transfer_weights(target: Encoder, payload: dict[str, Any]) -> TransferReport:
    """Load ``payload`` (an ssrec checkpoint) into ``target`` by role (see the module docstring)."""
    source_arch, target_arch = source_architecture(payload), type(target).__name__
    same = source_arch == target_arch
    own = target.state_dict()
    report = TransferReport()
    covered: set[str] = set()
    for name, tensor in payload["state_dict"].items():
        role = parameter_role(name)
        if role == ENCODER and not same:
            report.skipped[name] = f"encoder tensor of a {source_arch}, the target is a {target_arch}"
            continue
        target_name = name if role == ENCODER else _SHARED_ROLES[role]
        if target_name not in own:
            if role != ENCODER:
                report.skipped[name] = f"{target_arch} has no {role}"
                continue
            raise CheckpointError(f"the checkpoint's {source_arch} has {name}, which this {target_arch} lacks; "
                                  f"{_HINT[ENCODER]} {payload['backbone'].get('spec')}")
        if own[target_name].shape != tensor.shape:
            raise CheckpointError(f"cannot load {role} {name}: checkpoint shape {tuple(tensor.shape)}, "
                                  f"{target_arch} shape {tuple(own[target_name].shape)} ({_HINT[role]})")
        own[target_name] = tensor
        covered.add(target_name)
        report.loaded.setdefault(role, []).append(target_name)
    missing = [n for n in own if n not in covered]
    if same and any(parameter_role(n) == ENCODER for n in missing):
        lacking = [n for n in missing if parameter_role(n) == ENCODER]
        raise CheckpointError(f"the checkpoint's {source_arch} lacks {lacking[:3]}{' ...' if len(lacking) > 3 else ''} "
                              f"of this {target_arch}; {_HINT[ENCODER]} {payload['backbone'].get('spec')}")
    report.kept = missing
    target.load_state_dict(own)
    return report
