"""SequenceDataset / ItemAttributes / from_sequences: contracts and errors."""
from __future__ import annotations

import numpy as np
import pytest

from ssrec.data import DataFormatError, ItemAttributes, SequenceDataset, from_sequences


def test_from_sequences_builds_csr_and_ids():
    data = from_sequences([[3, 1, 2], [2, 2, 4, 5]], users=["a", "b"], name="toy")
    assert data.num_users == 2 and data.num_items == 5 and data.mask_id == 6
    assert data.offsets.tolist() == [0, 3, 7]
    assert data.sequence(1).tolist() == [2, 2, 4, 5]
    assert data.lengths.tolist() == [3, 4]
    assert data.users == ("a", "b") and data.items.dtype == np.int64
    assert data.describe().startswith("toy: 2 users, 5 items, 7 interactions")


@pytest.mark.parametrize("sequences, kwargs, match", [
    ([[1, 2, 3], [1.5, 2, 3]], {}, r"<in-memory data>: sequence 1: expected a 1-d sequence of integer"),
    ([[1, 2, 3], [[1, 2], [3, 4]]], {}, r"sequence 1: expected a 1-d sequence"),
    ([[1, 0, 3]], {}, r"sequence 0: item id 0 < 1 \(0 is PAD\)"),
    ([[1, 2, 3], [4, 5]], {}, r"sequence 1 has 2 items; leave-one-out needs at least 3"),
    ([[1, 2, 9]], {"num_items": 5}, r"item id 9 exceeds num_items=5"),
    ([[1, 2, 3]], {"item_attributes": {4: [1]}}, r"attributes name item 4, not in 1..3"),
    ([[1, 2, 3]], {"item_attributes": {2: [1, 0]}}, r"item 2: attribute ids must be >= 1"),
    ([[1, 2, 3]], {"users": ["a", "b"]}, r"2 user ids for 1 sequences"),
])
def test_from_sequences_errors(sequences, kwargs, match):
    with pytest.raises(DataFormatError, match=match):
        from_sequences(sequences, **kwargs)


def test_item_attributes_csr_round_trip():
    mapping = {1: [5, 2, 2], 3: [1], 4: [], 6: [7, 3, 1]}
    table = ItemAttributes.from_mapping(mapping, num_items=6)
    assert table.num_item_rows == 8 and len(table.offsets) == 9
    assert table.num_attributes == 8
    for item in range(8):  # PAD (0) .. MASK (7)
        assert table.of(item).tolist() == sorted(set(mapping.get(item, [])))
    assert table.values.dtype == np.int64 and table.offsets.dtype == np.int64
    # the CSR arrays themselves: rows concatenated in item order
    assert table.values.tolist() == [2, 5, 1, 1, 3, 7]
    assert table.offsets.tolist() == [0, 0, 2, 2, 3, 3, 3, 6, 6]


def test_item_attributes_explicit_size_and_names():
    names = ("[PAD]", "x", "y", "z")
    table = ItemAttributes.from_mapping({2: [1]}, num_items=3, names=names, num_attributes=4)
    assert table.num_attributes == 4 and table.names == names
    with pytest.raises(DataFormatError, match=r"attribute id 3 needs more than num_attributes=3"):
        ItemAttributes.from_mapping({2: [3]}, num_items=3, num_attributes=3)
    with pytest.raises(DataFormatError, match=r"2 attribute names for 4 attribute ids"):
        ItemAttributes.from_mapping({2: [3]}, num_items=3, names=("[PAD]", "x"), num_attributes=4)


@pytest.mark.parametrize("item", [0, -1, 4])
def test_item_attributes_refuse_items_outside_1_to_n(item):
    # -1 used to land silently in the MASK row (negative list index)
    with pytest.raises(DataFormatError, match=rf"attributes name item {item}, not in 1..3"):
        ItemAttributes.from_mapping({item: [1]}, num_items=3)


def test_equality_compares_contents_and_hash_works():
    a = from_sequences([[1, 2, 3], [3, 2, 1]], item_attributes={1: [1, 2]})
    b = from_sequences([[1, 2, 3], [3, 2, 1]], item_attributes={1: [2, 1]})
    c = from_sequences([[1, 2, 3], [3, 1, 2]], item_attributes={1: [1, 2]})
    d = from_sequences([[1, 2, 3], [3, 2, 1]], item_attributes={1: [1, 3]})
    assert a == b and hash(a) == hash(b)
    assert a != c and a != d and a != "not a data set"
    assert a.attributes == b.attributes and a.attributes != d.attributes


def test_post_init_checks_offsets_and_attribute_ids():
    items = np.array([1, 2, 3, 1, 2, 3], dtype=np.int64)
    with pytest.raises(DataFormatError, match=r"x.txt: offsets must rise from 0 to 6"):
        SequenceDataset("x", items, np.array([0, 3, 5]), 3, ("a", "b"), source="x.txt")
    with pytest.raises(DataFormatError, match=r"user 'b' has 2 interactions"):
        SequenceDataset("x", items[:5], np.array([0, 3, 5]), 3, ("a", "b"))
    with pytest.raises(DataFormatError, match=r"item ids must lie in 1..2"):
        SequenceDataset("x", items, np.array([0, 3, 6]), 2, ("a", "b"))
    bad = ItemAttributes(np.array([0, 0, 1, 1, 1, 1]), np.array([9]), 3)
    with pytest.raises(DataFormatError, match=r"attribute ids must lie in 1..2"):
        SequenceDataset("x", items, np.array([0, 3, 6]), 3, ("a", "b"), bad)
    short_table = ItemAttributes.from_mapping({1: [1]}, num_items=2)
    with pytest.raises(DataFormatError, match=r"attribute table covers 2 items, the sequences 3"):
        SequenceDataset("x", items, np.array([0, 3, 6]), 3, ("a", "b"), short_table)
