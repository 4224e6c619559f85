"""Dropout with the same contract as ``torch.nn.Dropout``, cheaper on the CPU.

On the CPU, ``torch.nn.functional.dropout`` draws its mask with ``bernoulli_``, about three times slower
than comparing uniform draws with p (measured in ``benchmarks/test_core_speed.py``); at S3-Rec's
dropout of 0.5 on every layer that was a fifth of a pre-training step. Both keep each entry with
probability 1 - p and scale the kept ones by 1 / (1 - p), drawing from torch's default generator. On
other devices this calls ``F.dropout`` (fused kernels).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Zero each entry of ``x`` with probability ``p`` and scale the rest by 1 / (1 - p) when training."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return F.dropout(x, p, training=True)
    # drawn in fp32 whatever x's dtype: a bf16 uniform has 8 bits (p would be rounded) and is slower to draw
    scale = torch.rand(x.shape, device=x.device).ge_(p).mul_(1.0 / (1.0 - p))  # 1/(1 - p) where kept, else 0
    return x * scale.to(x.dtype)


class Dropout(nn.Module):
    """``torch.nn.Dropout`` (not in place) computed by ``dropout``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
