"""Length-bucketed batches cover every row once; trimming leading padding is exact."""
from __future__ import annotations

import torch

from ssrec.data.batching import bucketed_batches, trim_leading_padding


def test_every_row_exactly_once_and_batches_are_homogeneous():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 51, (5000,), generator=g)
    batches = bucketed_batches(lengths, 256, torch.Generator().manual_seed(1))
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(5000))
    assert all(len(b) <= 256 for b in batches)
    spread = torch.tensor([float(lengths[b].max() - lengths[b].min()) for b in batches])
    random = bucketed_batches(lengths, 256, torch.Generator().manual_seed(1), pool_batches=1)
    random_spread = torch.tensor([float(lengths[b].max() - lengths[b].min()) for b in random])
    assert spread.mean() < 0.2 * random_spread.mean()


def test_seeded_and_shuffled():
    lengths = torch.randint(1, 51, (3000,), generator=torch.Generator().manual_seed(0))
    a = bucketed_batches(lengths, 100, torch.Generator().manual_seed(5))
    b = bucketed_batches(lengths, 100, torch.Generator().manual_seed(5))
    c = bucketed_batches(lengths, 100, torch.Generator().manual_seed(6))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_trim_leading_padding():
    x = torch.tensor([[0, 0, 0, 4, 5], [0, 0, 1, 2, 3]])
    y = torch.arange(10).view(2, 5)
    tx, ty = trim_leading_padding(x, y)
    assert tx.tolist() == [[0, 4, 5], [1, 2, 3]] and ty.tolist() == [[2, 3, 4], [7, 8, 9]]
    (empty,) = trim_leading_padding(torch.zeros(2, 4, dtype=torch.long))
    assert empty.shape == (2, 1)
