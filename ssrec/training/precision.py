"""Training precision: ``fp32`` (the released setting) or ``bf16`` autocast.

Under ``bf16`` the forward passes of training steps run in torch autocast with bfloat16: matrix products
and attention in bf16, reductions, softmax and losses in fp32 as autocast decides; weights, gradients and
optimizer state stay fp32, so no loss scaling is needed. Evaluation always runs in fp32: bf16 scores
(8 bits of mantissa) would tie items that fp32 ranks apart.

On the CPU, bf16 products run in oneDNN, which generates a kernel per shape; ``ssrec.nn.row_buckets``
keeps the heads' shapes few and ``ONEDNN_KERNEL_CACHE`` keeps every kernel of an epoch. Even so, at S3-Rec's
size (hidden 64, batch 100) bf16 is no faster than fp32 on this project's AMX CPU: the products are small,
oneDNN's per-call cost is higher than MKL's fp32 one, and the step is bound by elementwise work
(``benchmarks/pretrain_speed.py``, the issue-18 note). It pays on GPUs and with large batches.
"""
from __future__ import annotations

import contextlib
import os

import torch

PRECISIONS = ("fp32", "bf16")
#: oneDNN kernels kept per process. The default, 1024, is fewer than the shapes of one bucketed S3-Rec
#: epoch (50 widths x the encoder's and heads' products, forward and backward): kernels were evicted and
#: generated again (~4 ms each), and a Beauty bf16 epoch took 49.5 s against 40.4 s with this capacity.
ONEDNN_KERNEL_CACHE = "16384"


def check_precision(precision: str) -> str:
    """``precision`` if it is one of ``PRECISIONS``, else a ``ValueError`` naming the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[None]:
    """The context a training forward pass runs in on ``device`` at ``precision``."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    if device.type == "cpu":  # read when oneDNN makes its first kernel, so before the first bf16 product
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_KERNEL_CACHE)
    return torch.autocast(device.type, dtype=torch.bfloat16)
