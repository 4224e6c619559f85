"""Row buckets: under CPU bf16 autocast, varying row counts are padded to a few shapes without changing results."""
from __future__ import annotations

import pytest
import torch

from ssrec.nn.row_buckets import ROW_BUCKET, pad_rows


def test_outside_autocast_rows_are_left_alone():
    x = torch.randn(77, 8)
    padded, rows = pad_rows(x)
    assert padded is x and rows == 77


@pytest.mark.parametrize("count", [1, 77, ROW_BUCKET, ROW_BUCKET + 1, 1000])
def test_under_cpu_autocast_rows_pad_to_the_bucket_with_zeros(count):
    x = torch.randn(count, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded, rows = pad_rows(x)
    assert rows == count
    assert padded.shape[0] % ROW_BUCKET == 0 and padded.shape[0] - count < ROW_BUCKET
    assert torch.equal(padded[:count], x) and not padded[count:].any()


def test_a_padded_product_gives_the_same_rows_and_gradients():
    torch.manual_seed(0)
    weight = torch.randn(64, 638, requires_grad=True)
    x = torch.randn(300, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h, rows = pad_rows(x)
        padded = (h @ weight)[:rows]
        plain = x @ weight
    assert padded.shape == plain.shape == (300, 638)
    torch.testing.assert_close(padded.float(), plain.float(), rtol=1e-2, atol=1e-2)
    grad_padded = torch.autograd.grad(padded.float().sum(), (x, weight))
    grad_plain = torch.autograd.grad(plain.float().sum(), (x, weight))
    for a, b in zip(grad_padded, grad_plain):
        torch.testing.assert_close(a, b, rtol=2e-2, atol=0.5)
