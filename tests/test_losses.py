"""Fine-tuning losses against the released formulas written out position by position."""
from __future__ import annotations

import math

import numpy as np
import torch

from ssrec.data.dataset import from_sequences
from ssrec.losses import FullSoftmaxLoss, SampledBCELoss, make_loss
from ssrec.sampling import UserItemIndex

N, H = 12, 4


def setup():
    data = from_sequences([[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12, 1, 2]], num_items=N)
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 4, H, generator=g)
    targets = torch.tensor([[0, 2, 3, 4], [0, 0, 0, 7], [10, 11, 12, 1]])
    table = torch.randn(N + 2, H, generator=g)
    return data, hidden, targets, table


def test_sampled_bce_matches_released_formula():
    data, hidden, targets, table = setup()
    index = UserItemIndex(data)
    users = torch.tensor([0, 1, 2])
    loss = SampledBCELoss(index)(hidden, targets, users, table, torch.Generator().manual_seed(5))
    negatives = index.sample(users, (4,), torch.Generator().manual_seed(5))  # the same draws
    terms = []
    for b in range(3):
        for t in range(4):
            if targets[b, t] == 0:
                continue
            assert int(negatives[b, t]) not in data.sequence(b).tolist()
            pos = float(hidden[b, t] @ table[targets[b, t]])
            neg = float(hidden[b, t] @ table[negatives[b, t]])
            sig = lambda x: 1 / (1 + math.exp(-x))
            terms.append(-math.log(sig(pos) + 1e-24) - math.log(1 - sig(neg) + 1e-24))
    assert math.isclose(float(loss), sum(terms) / len(terms), rel_tol=1e-5)


def test_full_softmax_matches_log_softmax_over_items():
    data, hidden, targets, table = setup()
    loss = FullSoftmaxLoss()(hidden, targets, torch.arange(3), table, torch.Generator())
    terms = []
    for b in range(3):
        for t in range(4):
            if targets[b, t]:
                logits = np.array([float(hidden[b, t] @ table[i]) for i in range(1, N + 1)])  # no PAD, no MASK
                terms.append(-(logits[targets[b, t] - 1] - np.log(np.exp(logits).sum())))
    assert math.isclose(float(loss), float(np.mean(terms)), rel_tol=1e-5)


def test_unknown_loss_is_named():
    try:
        make_loss("bpr", None)
    except ValueError as exc:
        assert "'bpr'" in str(exc) and "'bce' or 'ce'" in str(exc)
    else:
        raise AssertionError
