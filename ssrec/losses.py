"""Next-item fine-tuning losses, as components (pre-training and fine-tuning compose the same parts).

Every loss takes the causal hidden states (B, L, H), the next-item targets (B, L) with 0 where there is
no target, the batch's user rows (B,) and the tied item table (N + 2, H), and returns the mean loss over
target positions.
"""
from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from ssrec.sampling import UserItemIndex


class NextItemLoss(Protocol):
    name: str

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...


class SampledBCELoss:
    """The released S3-Rec/SASRec loss: per target position, BCE of the target against ONE uniformly
    sampled negative that is not among the user's items; score = h_t . e_i."""

    name = "bce"

    def __init__(self, index: UserItemIndex) -> None:
        self.index = index

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        is_target = targets > 0  # (B, L)
        negatives = self.index.sample(users, (targets.shape[1],), generator)  # (B, L)
        h = hidden[is_target]  # (T, H)
        pos = (h * item_table[targets[is_target]]).sum(-1)  # (T,)
        neg = (h * item_table[negatives[is_target]]).sum(-1)  # (T,)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg)).mean()


class FullSoftmaxLoss:
    """Cross-entropy over all N items (PAD and MASK excluded) at every target position."""

    name = "ce"

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        is_target = targets > 0  # (B, L)
        logits = hidden[is_target] @ item_table[1:-1].T  # (T, N): columns are items 1..N
        return F.cross_entropy(logits, targets[is_target] - 1)


def make_loss(name: str, index: UserItemIndex) -> NextItemLoss:
    """The fine-tuning loss called ``name`` ("bce": released, "ce": full softmax)."""
    if name == "bce":
        return SampledBCELoss(index)
    if name == "ce":
        return FullSoftmaxLoss()
    raise ValueError(f"unknown fine-tuning loss {name!r}; expected 'bce' or 'ce'")
