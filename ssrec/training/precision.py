"""Training precision: ``fp32`` (the released setting) or ``bf16`` autocast.

Under ``bf16`` the forward passes of training steps run in torch autocast with bfloat16: matrix products
and attention in bf16, reductions, softmax and losses in fp32 as autocast decides; weights, gradients and
optimizer state stay fp32, so no loss scaling is needed. Evaluation always runs in fp32: bf16 scores
(8 bits of mantissa) would tie items that fp32 ranks apart.
"""
from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    """``precision`` if it is one of ``PRECISIONS``, else a ``ValueError`` naming the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[None]:
    """The context a training forward pass runs in on ``device`` at ``precision``."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
