"""ssrec's CPU dropout keeps torch.nn.Dropout's contract: keep rate 1 - p, kept entries scaled by 1 / (1 - p)."""
from __future__ import annotations

import math

import pytest
import torch

from ssrec.nn.dropout import Dropout, dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_and_scale(p):
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = dropout(x, p)
    kept = y != 0
    n = x.numel()
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p)))


def test_identity_at_eval_and_p_zero_and_all_dropped_at_p_one():
    x = torch.randn(10, 10)
    module = Dropout(0.5).eval()
    assert module(x) is x
    assert dropout(x, 0.0) is x
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match=r"dropout probability must lie in \[0, 1\]"):
        Dropout(1.5)


def test_gradient_flows_through_kept_entries_only():
    torch.manual_seed(1)
    x = torch.ones(1000, requires_grad=True)
    y = dropout(x, 0.5)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() * 2)


def test_same_seed_same_mask():
    x = torch.ones(100)
    torch.manual_seed(3)
    a = dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(a, dropout(x, 0.5))
