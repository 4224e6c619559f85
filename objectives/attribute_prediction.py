"""Multi-label attribute prediction from per-position outputs: the common core of AAP and MAP.

At the selected positions t of the masked view, every attribute a is scored sigmoid((W h_t) . e_a)
against the multi-hot attributes of the ORIGINAL item at t, with binary cross-entropy summed over
positions and attributes (column 0, the unused PAD attribute, included with target 0, as released).

It is computed from the logits z and the item's attribute ids, without a dense multi-hot target:
sum_a BCE(sigmoid(z_a), y_a) = sum_a softplus(z_a) - sum_{a in attrs} z_a. That is the release's
sigmoid followed by ``BCELoss``, without its clamp of log at -100.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import ATTRIBUTES, PER_POSITION, ObjectiveContext, PretrainStep
from ssrec.data.corruption import MaskedItems
from ssrec.data.pretrain_data import PretrainBatch
from ssrec.nn.row_buckets import pad_rows
from ssrec.objectives.heads import check_reduction, projection, reduce


class AttributePrediction(nn.Module):
    """Base class: subclasses choose the scored positions in ``positions``."""

    requires = frozenset({PER_POSITION})
    fields = frozenset({ATTRIBUTES})
    default_weight = 1.0

    def __init__(self, *, mask_ratio: float = 0.2, reduction: str = "sum") -> None:
        super().__init__()
        self.mask_ratio = mask_ratio
        self.reduction = check_reduction(reduction)
        self.spec = {"mask_ratio": mask_ratio, "reduction": reduction}

    def setup(self, context: ObjectiveContext) -> None:
        self.projection = projection(context)

    def positions(self, view: MaskedItems) -> torch.Tensor:
        """Bool (B, L): the positions scored."""
        raise NotImplementedError

    def loss(self, batch: PretrainBatch, step: PretrainStep) -> torch.Tensor:
        view, hidden = step.masked_items(batch, self.mask_ratio)  # (B, L), (B, L, H)
        where = self.positions(view)  # (B, L)
        h, rows = pad_rows(hidden[where])  # (T, H), rows bucketed under CPU bf16 (ssrec.nn.row_buckets)
        logits = (self.projection(h) @ step.attribute_embeddings.weight.T)[:rows]  # (T, A)
        attributes = step.data.attribute_table[batch.items[where]]  # (T, K) ids, 0 = none
        positive = (logits.gather(1, attributes) * (attributes != 0)).sum(1)  # (T,)
        return reduce(F.softplus(logits).sum(1) - positive, self.reduction)
