"""Pieces the built-in objectives share: the bilinear projection head, reductions, the pairwise loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import ObjectiveContext

REDUCTIONS = ("sum", "mean")


def projection(context: ObjectiveContext) -> nn.Linear:
    """The W of S3-Rec's score (W h) . e: Linear(H, H) with bias, initialised N(0, 0.02), bias 0."""
    layer = nn.Linear(context.hidden_size, context.hidden_size)
    nn.init.normal_(layer.weight, 0.0, context.initializer_range)
    nn.init.zeros_(layer.bias)
    return layer


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Sum (released) or mean over the first dimension (scored positions or samples), summing the rest."""
    total = losses.sum()
    if reduction == "mean":
        return total / max(losses.shape[0], 1)
    return total


def pairwise_loss(positive: torch.Tensor, negative: torch.Tensor, double_sigmoid: bool) -> torch.Tensor:
    """Elementwise -log sigmoid(d): d = sigmoid(f+) - sigmoid(f-) as released, or f+ - f- (BPR)."""
    d = torch.sigmoid(positive) - torch.sigmoid(negative) if double_sigmoid else positive - negative
    return F.softplus(-d)  # = BCE(sigmoid(d), 1)
