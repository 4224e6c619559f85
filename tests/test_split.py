"""Leave-one-out views: targets, left padding, truncation to the last max_len items."""
from __future__ import annotations

import torch

from ssrec.data.dataset import from_sequences
from ssrec.data.split import leave_one_out


def test_leave_one_out_by_hand():
    data = from_sequences([[1, 2, 3, 4, 5, 6, 7], [8, 9, 10]], num_items=10)
    s = leave_one_out(data, max_len=3)
    # user 0: train inputs s[:-3] = 1 2 3 4 -> last 3; targets s[1:-2] = 2 3 4 5 -> last 3
    assert s.train_inputs.tolist() == [[2, 3, 4], [0, 0, 0]]
    assert s.train_targets.tolist() == [[3, 4, 5], [0, 0, 0]]
    assert s.valid_inputs.tolist() == [[3, 4, 5], [0, 0, 8]]
    assert s.valid_targets.tolist() == [6, 9]
    assert s.test_inputs.tolist() == [[4, 5, 6], [0, 8, 9]]
    assert s.test_targets.tolist() == [7, 10]


def test_matches_python_slicing_on_random_data():
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(1, 50, (int(n),), generator=g).tolist()
            for n in torch.randint(3, 30, (40,), generator=g)]
    s = leave_one_out(from_sequences(seqs, num_items=50), max_len=8)

    def pad(x):
        x = x[-8:]
        return [0] * (8 - len(x)) + x

    for u, seq in enumerate(seqs):
        assert s.train_inputs[u].tolist() == pad(seq[:-3])
        assert s.train_targets[u].tolist() == pad(seq[1:-2])
        assert s.valid_inputs[u].tolist() == pad(seq[:-2]) and s.valid_targets[u] == seq[-2]
        assert s.test_inputs[u].tolist() == pad(seq[:-1]) and s.test_targets[u] == seq[-1]
