"""Rows padded to a bucket size, so that a matrix product with a varying row count reuses its kernel.

On the CPU, bf16 matrix products run in oneDNN, which generates (JIT-compiles) a kernel for every new
shape: about 4 ms each on this project's AMX machine, against 0.25 ms for the product itself (measured
in ``benchmarks/bf16_shapes.py``). The pre-training heads score a random number of positions each step
(the masked ones, the unmasked ones), so under bf16 nearly every step paid for new kernels and the step
ran twice as slow as fp32. Padding the row count up to a multiple of ``ROW_BUCKET`` bounds the shapes
to a few dozen, each compiled once. fp32 products (MKL) and CUDA need no kernel per shape, so rows are
padded only under CPU autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ROW_BUCKET = 128


def needs_row_buckets(x: torch.Tensor) -> bool:
    """Whether products of ``x`` run in JIT-generated CPU kernels: under CPU autocast (bf16)."""
    return x.device.type == "cpu" and torch.is_autocast_enabled("cpu")


def pad_rows(x: torch.Tensor, bucket: int = ROW_BUCKET) -> tuple[torch.Tensor, int]:
    """(``x`` with zero rows appended up to a multiple of ``bucket``, its real row count); ``x`` (T, ...).

    Outside CPU autocast ``x`` comes back unchanged. Rows past the real count are zeros and their
    results must be dropped (``result[:rows]``); they get no gradient.
    """
    rows = x.shape[0]
    if not needs_row_buckets(x) or rows % bucket == 0:
        return x, rows
    padding = (0, 0) * (x.dim() - 1) + (0, bucket - rows % bucket)
    return F.pad(x, padding), rows
