"""Pre-training samples: every prefix of the last max_len training items, as released."""
from __future__ import annotations

import numpy as np
import torch

from ssrec.data import from_sequences, load_dataset
from ssrec.data.pretrain_data import padded_attribute_table, pretrain_samples


def released_prefixes(sequences: list[list[int]], max_len: int) -> list[list[int]]:
    """The release's split_sequence: input_ids = seq[-(max_len + 2):-2]; every prefix of it."""
    out = []
    for seq in sequences:
        input_ids = seq[-(max_len + 2):-2]
        for i in range(len(input_ids)):
            out.append(input_ids[: i + 1])
    return out


def test_samples_are_the_released_prefixes_left_padded():
    rng = np.random.default_rng(0)
    sequences = [list(rng.integers(1, 30, size=n)) for n in [3, 4, 9, 15, 40]]
    data = pretrain_samples(from_sequences(sequences, num_items=30), max_len=8)
    expected = released_prefixes([[int(i) for i in s] for s in sequences], 8)
    assert data.num_samples == len(expected)
    batch = data.batch(torch.arange(data.num_samples))
    width = max(len(e) for e in expected)
    assert batch.items.shape == (len(expected), width)
    for row, prefix in zip(batch.items.tolist(), expected):
        assert row == [0] * (width - len(prefix)) + prefix
    assert batch.users.tolist() == [u for u, s in enumerate(sequences) for _ in range(min(len(s) - 2, 8))]


def test_a_batch_is_trimmed_to_its_longest_sample():
    data = pretrain_samples(from_sequences([[1, 2, 3, 4, 5, 6]], num_items=6), max_len=50)
    batch = data.batch(torch.tensor([0, 1]))
    assert batch.items.tolist() == [[0, 1], [1, 2]]


def test_attribute_table_matches_the_mapping():
    dataset = from_sequences([[1, 2, 3]], num_items=4, item_attributes={1: [3, 1], 3: [2], 4: [1, 2, 5]})
    table = padded_attribute_table(dataset)
    assert table.shape == (6, 3)
    for item in range(6):
        assert sorted(a for a in table[item].tolist() if a) == dataset.attributes.of(item).tolist()


def test_beauty_has_the_released_number_of_samples(shared_data):
    dataset = load_dataset(shared_data / "beauty" / "Beauty.txt")
    assert pretrain_samples(dataset, max_len=50).num_samples == 150_258
