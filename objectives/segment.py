"""SP, S3-Rec's sequence-segment objective: tell a masked-out segment from a random one.

Per sample of length >= 2: a segment of uniform length 1..floor(len/2) at a uniform start is replaced by
MASK (the context); the positive view keeps only the segment (every other real position MASK); the
negative view puts a window of the same length from the concatenation of all users' sequences in its
place. s, p, n are the encoder's outputs at the last position of the three views, and
loss = -log sigmoid(sigmoid((W s) . p) - sigmoid((W s) . n)) (the released double sigmoid), summed over
samples. Shorter samples use the unmasked sequence for all three views, as released. The three views
are encoded in ONE batched pass (3B rows). Released weight 0.5.

It reads only the last position, so it needs no per-position output: any backbone can serve it.
Options, off by default: ``double_sigmoid=False`` (plain -log sigmoid(f+ - f-)), ``reduction="mean"``.
"""
from __future__ import annotations

import torch
from torch import nn

from ssrec.contracts import MemoKey, ObjectiveContext, PretrainStep
from ssrec.data.corruption import segment_views
from ssrec.data.pretrain_data import PretrainBatch
from ssrec.objectives.heads import check_reduction, pairwise_loss, projection, reduce


class SegmentPrediction(nn.Module):
    """Segment Prediction (see the module docstring)."""

    name = "sp"
    requires = frozenset()
    fields = frozenset()
    default_weight = 0.5

    def __init__(self, *, double_sigmoid: bool = True, reduction: str = "sum") -> None:
        super().__init__()
        self.double_sigmoid = double_sigmoid
        self.reduction = check_reduction(reduction)
        self.spec = {"double_sigmoid": double_sigmoid, "reduction": reduction}

    def setup(self, context: ObjectiveContext) -> None:
        self.projection = projection(context)

    def loss(self, batch: PretrainBatch, step: PretrainStep) -> torch.Tensor:
        key = MemoKey(self.name, "segments")
        views = step.memo(key, lambda: segment_views(batch.items, step.data.all_items, step.data.mask_id,
                                                     step.generator))
        stacked = torch.cat([views.context, views.positive, views.negative])  # (3B, L)
        last = step.summarize(key, stacked, batch.users.repeat(3))  # (3B, H)
        s, p, n = last.chunk(3)  # (B, H) each
        s = self.projection(s)
        f_pos, f_neg = (s * p).sum(-1), (s * n).sum(-1)  # (B,)
        return reduce(pairwise_loss(f_pos, f_neg, self.double_sigmoid), self.reduction)
