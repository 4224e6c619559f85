"""Composing a backbone with weighted pre-training objectives, and the per-step context they share.

    model = ssrec.compose(encoder, ["aap", "mip", "map", "sp"], dataset)          # S3-Rec, released weights
    model = ssrec.compose(encoder, {"mip": 1.0, "sp": 0.5}, dataset)              # any subset, any weights
    model = ssrec.compose(encoder, [ssrec.create_objective("mip", num_negatives=8, infonce=True)], dataset)

An impossible composition (an attribute objective on data without attributes, a per-position objective
on a backbone that only produces a sequence summary) raises ``ValueError`` here, with a sentence that
says why, never epochs later.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from ssrec.contracts import (
    ATTRIBUTES,
    INITIALIZER_RANGE,
    KNOWN_FIELDS,
    Encoder,
    MemoKey,
    Objective,
    ObjectiveContext,
    require_capabilities,
    require_fields,
    sequence_summary,
    user_inputs,
)
from ssrec.data.corruption import MaskedItems, mask_items
from ssrec.data.dataset import SequenceDataset
from ssrec.data.pretrain_data import PretrainBatch, PretrainData
from ssrec.plugins import create_objective


def masked_view_key(ratio: float) -> MemoKey:
    """The memo key of the masked view that every objective using ``ratio`` shares."""
    return MemoKey("ssrec", ("masked", ratio))


class StepContext:
    """One training step's shared state: the encoder, the data tensors, the generator, memoised passes.

    Objectives that ask for the same view (``masked_items(0.2)``) get the same corrupted tensor, and
    ``encode(key, ...)`` runs the encoder once per key, so AAP, MIP and MAP share one forward of one
    masked view, as S3-Rec does.
    """

    def __init__(self, encoder: Encoder, data: PretrainData, generator: torch.Generator,
                 attribute_embeddings: nn.Embedding | None) -> None:
        self.encoder = encoder
        self.data = data
        self.generator = generator
        self.attribute_embeddings = attribute_embeddings
        self._memo: dict[tuple[str, MemoKey], Any] = {}

    def memo(self, key: MemoKey, build: Callable[[], Any], *, kind: str = "view") -> Any:
        """``build()`` the first time ``key`` is asked for in this step, the same object afterwards."""
        if not isinstance(key, MemoKey):
            raise TypeError(f"step memo keys are ssrec.contracts.MemoKey(owner, view), got {key!r}: name the owner "
                            "(the objective's registered name) so that two plugins cannot collide")
        if (kind, key) not in self._memo:
            self._memo[kind, key] = build()
        return self._memo[kind, key]

    def encode(self, key: MemoKey, items: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's output (B, L, H) for ``items`` in its default mode, computed once per ``key``.

        ``users`` (B,), the rows' users, reach a backbone that takes them (``USERS`` capability).
        """
        return self.memo(key, lambda: self.encoder.encode(items, **user_inputs(self.encoder, users)), kind="encode")

    def summarize(self, key: MemoKey, items: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's last-position output (B, H) for ``items`` in its default mode, once per ``key``."""
        return self.memo(key, lambda: sequence_summary(self.encoder, items, users=users), kind="summarize")

    def masked_items(self, batch: PretrainBatch, ratio: float) -> tuple[MaskedItems, torch.Tensor]:
        """The batch masked with ``ratio`` (last item always masked) and its encoding (B, L, H), shared."""
        key = masked_view_key(ratio)
        view = self.memo(key, lambda: mask_items(batch.items, self.data.mask_id, ratio, self.generator))
        return view, self.encode(key, view.items, batch.users)


class PretrainModel(nn.Module):
    """A backbone and its objectives; ``forward`` returns the weighted total loss and each objective's loss.

    The composition owns one attribute embedding table (num_attributes x H, row 0 unused) whenever an
    objective needs attributes; all of them share it (S3-Rec's AAP and MAP score the same table).
    """

    encoder: Encoder
    objectives: nn.ModuleDict

    def __init__(self, encoder: Encoder, objectives: Sequence[Objective], weights: Sequence[float],
                 num_attributes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.objectives = nn.ModuleDict({o.name: cast(nn.Module, o) for o in objectives})  # objectives are modules
        self.weights = dict(zip(self.objectives, (float(w) for w in weights)))
        self.attribute_embeddings: nn.Embedding | None = None
        if any(ATTRIBUTES in o.fields for o in objectives):
            self.attribute_embeddings = nn.Embedding(num_attributes, encoder.hidden_size, padding_idx=0)
            nn.init.normal_(self.attribute_embeddings.weight, 0.0, INITIALIZER_RANGE)  # row 0 too, as released

    def forward(self, batch: PretrainBatch, data: PretrainData,
                generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        step = StepContext(self.encoder, data, generator, self.attribute_embeddings)
        parts = {name: cast(Objective, objective).loss(batch, step) for name, objective in self.objectives.items()}
        weighted = [self.weights[name] * loss for name, loss in parts.items()]
        total = weighted[0]
        for term in weighted[1:]:  # the release's order of additions
            total = total + term
        return total, parts


def _objective(spec: str | Objective) -> Objective:
    return create_objective(spec) if isinstance(spec, str) else spec


def compose(encoder: Encoder, objectives: Sequence[str | Objective] | Mapping[str, float],
            dataset: SequenceDataset, *, weights: Mapping[str, float] | None = None) -> PretrainModel:
    """Compose ``encoder`` with ``objectives`` for pre-training on ``dataset``.

    Args:
        objectives: registered names or built objectives, or a mapping name -> weight.
        weights: per-objective weights; an objective left out gets its ``default_weight`` (S3-Rec's:
            AAP 0.2, MIP 1.0, MAP 1.0, SP 0.5), or 1.0.

    Raises:
        ValueError: no objective, a name twice, a weight that is not finite and >= 0, a weight for an
            objective not in the composition, a backbone built for another number of items, or an objective
            that this backbone or data set cannot serve.
    """
    weights = dict(weights or {})
    if isinstance(objectives, Mapping):
        weights = {**objectives, **weights}
        objectives = list(objectives)
    built = [_objective(o) for o in objectives]
    if not built:
        raise ValueError("a pre-training composition needs at least one objective")
    names = [o.name for o in built]
    if len(set(names)) != len(names):
        raise ValueError(f"objective names must be distinct, got {names}")
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"weights given for {sorted(unknown)}, which are not among the objectives {names}")
    rows = encoder.item_embeddings.num_embeddings
    if rows != dataset.num_items + 2:
        raise ValueError(f"the backbone's item table has {rows} rows (N + 2 for N = {rows - 2} items), but data set "
                         f"{dataset.name!r} has {dataset.num_items} items; build it with num_items={dataset.num_items}")
    available = {ATTRIBUTES} if dataset.attributes is not None else set()
    for objective in built:
        who = f"objective {objective.name!r}"
        undeclared = set(objective.fields) - KNOWN_FIELDS
        if undeclared:
            raise ValueError(f"{who} needs unknown data fields {sorted(undeclared)}; known: {sorted(KNOWN_FIELDS)}")
        require_fields(objective.fields, available, who, dataset.name)
        require_capabilities(encoder, objective.requires, who)
    resolved = [weights.get(o.name, getattr(o, "default_weight", 1.0)) for o in built]
    for name, w in zip(names, resolved):
        if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
            raise ValueError(f"weight of objective {name!r} must be a finite number >= 0, got {w!r}")
    num_attributes = dataset.attributes.num_attributes if dataset.attributes is not None else 0
    context = ObjectiveContext(encoder.hidden_size, dataset.num_items, num_attributes)
    for objective in built:
        objective.setup(context)
    return PretrainModel(encoder, built, resolved, num_attributes)
