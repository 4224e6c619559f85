"""MIP, S3-Rec's sequence-item objective: recover each masked item from its context.

At every masked position t of the shared masked view (ratio 0.2, the last position always masked):
f+ = (W h_t) . e_item, f- = (W h_t) . e_neg with one negative drawn uniformly from the items NOT in the
sample (the release may draw MASK; ssrec never does), and loss = -log sigmoid(sigmoid(f+) - sigmoid(f-)),
the release's BCE(sigmoid(sigmoid(f+) - sigmoid(f-)), 1) with its double sigmoid, summed over positions.
The item table is the backbone's (tied). Released weight 1.0.

Named options, off by default (improvements, not the release):
- ``num_negatives=k``: k negatives per position (pairwise loss summed over them, or InfoNCE).
- ``infonce=True``: softmax cross-entropy of the positive against its k negatives.
- ``double_sigmoid=False``: the plain pairwise logistic (BPR) loss -log sigmoid(f+ - f-).
- ``reduction="mean"``: mean over masked positions instead of the sum.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import PER_POSITION, ObjectiveContext, PretrainStep
from ssrec.data.corruption import sample_excluding
from ssrec.data.pretrain_data import PretrainBatch
from ssrec.nn.row_buckets import pad_rows
from ssrec.objectives.heads import check_reduction, pairwise_loss, projection, reduce


class MaskedItemPrediction(nn.Module):
    """Masked Item Prediction (see the module docstring for the options)."""

    name = "mip"
    requires = frozenset({PER_POSITION})
    fields = frozenset()
    default_weight = 1.0

    def __init__(self, *, mask_ratio: float = 0.2, num_negatives: int = 1, infonce: bool = False,
                 double_sigmoid: bool = True, reduction: str = "sum") -> None:
        super().__init__()
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        self.mask_ratio = mask_ratio
        self.num_negatives = num_negatives
        self.infonce = infonce
        self.double_sigmoid = double_sigmoid
        self.reduction = check_reduction(reduction)
        self.spec = {"mask_ratio": mask_ratio, "num_negatives": num_negatives, "infonce": infonce,
                     "double_sigmoid": double_sigmoid, "reduction": reduction}

    def setup(self, context: ObjectiveContext) -> None:
        self.projection = projection(context)

    def loss(self, batch: PretrainBatch, step: PretrainStep) -> torch.Tensor:
        view, hidden = step.masked_items(batch, self.mask_ratio)  # (B, L), (B, L, H)
        rows = view.masked.nonzero()[:, 0]  # (T,) the sample of every masked position
        h, count = pad_rows(hidden[view.masked])  # (T, H), rows bucketed under CPU bf16 (ssrec.nn.row_buckets)
        h = self.projection(h)[:count]  # (T, H)
        table = step.encoder.item_embeddings.weight  # (N + 2, H)
        positives = batch.items[view.masked]  # (T,)
        negatives = sample_excluding(batch.items[rows], self.num_negatives, step.data.num_items,
                                     step.generator)  # (T, k)
        candidates = table[torch.cat([positives[:, None], negatives], dim=1)]  # (T, 1 + k, H), one gather
        scores = (h[:, None, :] * candidates).sum(-1)  # (T, 1 + k)
        f_pos, f_neg = scores[:, 0], scores[:, 1:]  # (T,), (T, k)
        if self.infonce:  # the positive is candidate 0
            losses = F.cross_entropy(scores, torch.zeros_like(positives), reduction="none")
        else:
            losses = pairwise_loss(f_pos[:, None], f_neg, self.double_sigmoid)  # (T, k)
        return reduce(losses, self.reduction)
