"""make_synthetic: the embedded default data set."""
from __future__ import annotations

import numpy as np
import pytest

from ssrec.data import make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic()


def test_deterministic_for_a_seed_and_different_across_seeds(data):
    assert make_synthetic() == data
    other = make_synthetic(seed=1)
    assert other != data and not np.array_equal(other.items[:50], data.items[:50])


def test_shape_and_contract(data):
    assert data.name == "synthetic"
    assert data.num_users == 800 and data.num_items == 300
    assert data.lengths.min() >= 8 and data.lengths.max() <= 40
    assert data.items.min() >= 1 and data.items.max() <= 300
    for u in range(data.num_users):  # no repeated item inside a user
        seq = data.sequence(u)
        assert len(np.unique(seq)) == len(seq)
    table = data.attributes
    for item in range(1, 301):  # exactly one category attribute (1..12) plus 1-2 style attributes
        attrs = table.of(item)
        assert (attrs <= 12).sum() == 1 and 2 <= len(attrs) <= 3
    assert len(table.of(0)) == 0 and len(table.of(301)) == 0


def test_small_sizes_work_and_bad_sizes_are_refused():
    small = make_synthetic(num_users=5, num_items=6, num_categories=2, min_len=3, max_len=6, seed=2)
    assert small.num_users == 5 and small.lengths.max() <= 6
    with pytest.raises(ValueError, match="max_len <= num_items"):
        make_synthetic(num_items=10, num_categories=2, max_len=40)
    with pytest.raises(ValueError, match="3 <= min_len"):
        make_synthetic(min_len=2)
    with pytest.raises(ValueError, match="num_categories <= num_items"):
        make_synthetic(num_items=10, num_categories=11, max_len=10)


def _hit_rate_at_10(data, use_transitions: bool) -> float:
    """Leave-one-out HR@10 of the last item: first-order transitions (+ popularity ties) or popularity."""
    rows = data.num_items + 2
    counts = np.zeros((rows, rows))
    popularity = np.zeros(rows)
    for u in range(data.num_users):
        train = data.sequence(u)[:-1]
        np.add.at(counts, (train[:-1], train[1:]), 1)
        np.add.at(popularity, train, 1)
    hits = 0
    for u in range(data.num_users):
        seq = data.sequence(u)
        scores = popularity * 1e-6 + (counts[seq[-2]] if use_transitions else 0)
        scores[seq[:-1]] = -1
        scores[[0, rows - 1]] = -1
        hits += seq[-1] in np.argsort(-scores)[:10]
    return hits / data.num_users


def test_sequential_structure_beats_popularity(data):
    markov, popular = _hit_rate_at_10(data, True), _hit_rate_at_10(data, False)
    assert markov > 0.5 and markov > 3 * popular


def test_attributes_carry_signal(data):
    """Consecutive items share their category far more often than random pairs do."""
    table = data.attributes
    category = np.array([0] + [int(table.of(i)[0]) for i in range(1, 301)])
    users = np.repeat(np.arange(data.num_users), data.lengths)
    same_user = users[1:] == users[:-1]
    consecutive = (category[data.items[1:]] == category[data.items[:-1]])[same_user].mean()
    shuffled = np.random.default_rng(0).permutation(data.items)
    random_pairs = (category[shuffled[1:]] == category[shuffled[:-1]]).mean()
    assert consecutive > 0.6 and consecutive > 3 * random_pairs
