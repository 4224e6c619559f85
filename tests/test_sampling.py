"""Negative sampling: never the user's items, never PAD/MASK, uniform, distinct, seeded."""
from __future__ import annotations

import numpy as np
import torch

from ssrec.data.dataset import from_sequences
from ssrec.data.sampling import UserItemIndex, sample_distinct_negatives


def random_data(seed=0, users=30, items=60):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(1, items + 1, rng.integers(3, 25)).tolist() for _ in range(users)]
    return from_sequences(seqs, num_items=items), seqs


def test_contains_matches_python_sets():
    data, seqs = random_data()
    index = UserItemIndex(data)
    users = torch.arange(len(seqs))[:, None].expand(-1, 62)
    items = torch.arange(62)[None, :].expand(len(seqs), -1)
    expected = torch.tensor([[i in set(s) for i in range(62)] for s in seqs])
    assert torch.equal(index.contains(users, items), expected)


def test_samples_exclude_user_items_and_are_uniform():
    data, seqs = random_data(users=4, items=20)
    index = UserItemIndex(data)
    g = torch.Generator().manual_seed(0)
    draws = index.sample(torch.arange(4), (20000,), g)  # (4, 20000)
    for u, s in enumerate(seqs):
        allowed = sorted(set(range(1, 21)) - set(s))
        values, counts = draws[u].unique(return_counts=True)
        assert values.tolist() == allowed  # every allowed item, and nothing else (no PAD, no MASK)
        expected = 20000 / len(allowed)
        assert (counts.float() - expected).abs().max() < 5 * expected ** 0.5  # within 5 sigma


def test_distinct_negatives():
    data, seqs = random_data(users=50, items=300)
    negatives = sample_distinct_negatives(UserItemIndex(data), 99, seed=7)
    assert negatives.shape == (50, 99)
    for row, s in zip(negatives, seqs):
        assert len(set(row.tolist())) == 99
        assert not set(row.tolist()) & set(s)
        assert row.min() >= 1 and row.max() <= 300
    assert np.array_equal(negatives, sample_distinct_negatives(UserItemIndex(data), 99, seed=7))
    assert not np.array_equal(negatives, sample_distinct_negatives(UserItemIndex(data), 99, seed=8))


def test_too_few_unseen_items_is_an_error():
    data = from_sequences([[1, 2, 3, 4]], num_items=5)
    try:
        sample_distinct_negatives(UserItemIndex(data), 2, seed=0)
    except ValueError as exc:
        assert "fewer than 2 unseen items" in str(exc)
    else:
        raise AssertionError("expected a ValueError")
