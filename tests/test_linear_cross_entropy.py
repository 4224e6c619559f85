"""The chunked cross-entropy equals F.cross_entropy over the full logits: value and gradients, any chunking."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import ssrec.nn.linear_cross_entropy as lce


def factors(T: int, N: int = 300, H: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(T, H, generator=g).requires_grad_()
    table = torch.randn(N + 2, H, generator=g).requires_grad_()  # PAD and MASK rows around the N items
    targets = torch.randint(0, N, (T,), generator=g)
    return h, table, targets


@pytest.mark.parametrize("chunk_logits", [1, 700, 1 << 20])  # one row per chunk, uneven chunks, one chunk
def test_value_and_gradients_match_the_full_logits(monkeypatch, chunk_logits):
    monkeypatch.setattr(lce, "CHUNK_LOGITS", chunk_logits)
    h, table, targets = factors(T=37)
    weight = 0.3  # the loss is scaled afterwards (token weighting): gradients must follow
    ours = lce.linear_cross_entropy(h, table[1:-1], targets)
    grads = torch.autograd.grad(weight * ours, (h, table))
    reference = F.cross_entropy(h @ table[1:-1].T, targets)
    expected = torch.autograd.grad(weight * reference, (h, table))
    torch.testing.assert_close(ours, reference)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want)
    assert not grads[1][0].any() and not grads[1][-1].any(), "PAD and MASK rows are no candidates"


def test_bf16_autocast_tracks_fp32():
    h, table, targets = factors(T=64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = lce.linear_cross_entropy(h, table, targets)
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, F.cross_entropy(h @ table.T, targets), rtol=2e-2, atol=2e-2)


def test_no_targets_gives_zero_loss_and_zero_gradients():
    h, table, targets = factors(T=0)
    loss = lce.linear_cross_entropy(h, table, targets)
    grad_h, grad_table = torch.autograd.grad(loss, (h, table))
    assert loss.item() == 0.0 and grad_h.shape == (0, 16) and not grad_table.any()


def test_a_retained_graph_gives_the_same_gradients_twice_and_no_grad_gives_the_value():
    h, table, targets = factors(T=20)
    loss = lce.linear_cross_entropy(h, table, targets)
    first = torch.autograd.grad(loss, (h, table), retain_graph=True)
    second = torch.autograd.grad(loss, (h, table))
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b)
    with torch.no_grad():
        torch.testing.assert_close(lce.linear_cross_entropy(h, table, targets), loss.detach())
