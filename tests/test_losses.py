"""Fine-tuning losses against their formulas written out position by position, with the same random draws."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ssrec
from ssrec.contracts import LossContext
from ssrec.data.dataset import from_sequences
from ssrec.data.sampling import UserItemIndex

N, H = 12, 4


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def setup(name: str, **options):
    data = from_sequences([[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12, 1, 2]], num_items=N)
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 4, H, generator=g)
    targets = torch.tensor([[0, 2, 3, 4], [0, 0, 0, 7], [10, 11, 12, 1]])
    table = torch.randn(N + 2, H, generator=g)
    counts = torch.bincount(targets.reshape(-1), minlength=N + 2)
    counts[0] = 0
    index = UserItemIndex(data)
    loss = ssrec.create_loss(name, **options)
    loss.setup(LossContext(num_items=N, index=index, item_counts=counts))
    return data, index, counts, hidden, targets, table, loss


def positions(targets):
    return [(b, t) for b in range(targets.shape[0]) for t in range(targets.shape[1]) if targets[b, t]]


@pytest.mark.parametrize("name", ["bce", "bpr"])
def test_one_negative_losses_match_their_formulas(name):
    data, index, _, hidden, targets, table, loss = setup(name)
    users = torch.tensor([0, 1, 2])
    value = loss(hidden, targets, users, table, torch.Generator().manual_seed(5))
    negatives = index.sample(users, (4,), torch.Generator().manual_seed(5))  # the same draws
    terms = []
    for b, t in positions(targets):
        assert int(negatives[b, t]) not in data.sequence(b).tolist()
        pos = float(hidden[b, t] @ table[targets[b, t]])
        neg = float(hidden[b, t] @ table[negatives[b, t]])
        if name == "bce":  # released: -log s(pos) - log(1 - s(neg))
            terms.append(-math.log(sig(pos)) - math.log(1 - sig(neg)))
        else:  # BPR: -log s(pos - neg)
            terms.append(-math.log(sig(pos - neg)))
    assert math.isclose(float(value), sum(terms) / len(terms), rel_tol=1e-5)


def test_full_softmax_matches_log_softmax_over_items():
    *_, hidden, targets, table, loss = setup("ce")
    value = loss(hidden, targets, torch.arange(3), table, torch.Generator())
    terms = []
    for b, t in positions(targets):
        logits = np.array([float(hidden[b, t] @ table[i]) for i in range(1, N + 1)])  # no PAD, no MASK
        terms.append(-(logits[targets[b, t] - 1] - np.log(np.exp(logits).sum())))
    assert math.isclose(float(value), float(np.mean(terms)), rel_tol=1e-5)


@pytest.mark.parametrize("distribution", ["uniform", "popularity"])
def test_sampled_softmax_matches_the_log_q_corrected_formula(distribution):
    k = 6
    *_, counts, hidden, targets, table, loss = setup("sampled-softmax", num_negatives=k, distribution=distribution)
    value = loss(hidden, targets, torch.arange(3), table, torch.Generator().manual_seed(7))
    weights = np.ones(N + 2) if distribution == "uniform" else counts.numpy().astype(float) + 1  # add-one
    weights[0] = weights[-1] = 0
    q = weights / weights.sum()
    negatives = torch.multinomial(torch.tensor(q, dtype=torch.float32), k, replacement=True,
                                  generator=torch.Generator().manual_seed(7)).tolist()  # the same draws
    terms = []
    for b, t in positions(targets):
        target = int(targets[b, t])
        logits = [float(hidden[b, t] @ table[target]) - math.log(k * q[target])]
        logits += [float(hidden[b, t] @ table[j]) - math.log(k * q[j]) for j in negatives if j != target]
        terms.append(-(logits[0] - math.log(sum(math.exp(x) for x in logits))))
    assert math.isclose(float(value), float(np.mean(terms)), rel_tol=1e-5)


def test_gbce_matches_gsasrecs_formula():
    k, t_param = 5, 0.75
    *_, hidden, targets, table, loss = setup("gbce", num_negatives=k, t=t_param)
    value = loss(hidden, targets, torch.arange(3), table, torch.Generator().manual_seed(9))
    T = int((targets > 0).sum())
    drawn = torch.randint(1, N + 1, (T, k), generator=torch.Generator().manual_seed(9)).tolist()  # the same draws
    alpha = k / (N - 1)
    beta = alpha * (t_param * (1 - 1 / alpha) + 1 / alpha)
    terms = []
    for (b, t), negatives in zip(positions(targets), drawn):
        target = int(targets[b, t])
        pos = float(hidden[b, t] @ table[target])
        # gSASRec: BCE on the transformed positive logit whose sigmoid is sigmoid(pos) ** beta
        term = -math.log(sig(pos) ** beta)
        term += sum(-math.log(1 - sig(float(hidden[b, t] @ table[j]))) for j in negatives if j != target)
        terms.append(term / (k + 1))
    assert math.isclose(float(value), float(np.mean(terms)), rel_tol=1e-5)


def test_gbce_with_t_zero_is_bce_against_k_negatives():
    *_, hidden, targets, table, loss = setup("gbce", num_negatives=11, t=0.0)
    assert loss.beta == pytest.approx(1.0), "alpha = k / (N - 1) = 1: every item sampled, no calibration"


@pytest.mark.parametrize("name, options, message", [
    ("gbce", {"t": 2}, "t must be a number in [0, 1]"),
    ("sampled-softmax", {"num_negatives": 0}, "num_negatives must be an integer >= 1"),
    ("sampled-softmax", {"distribution": "zipf"}, "distribution must be one of uniform, popularity"),
    ("bce", {"num_negatives": 3}, "loss 'bce': got an unexpected keyword argument 'num_negatives'; its options: none"),
])
def test_bad_loss_options_are_refused_with_a_sentence(name, options, message):
    with pytest.raises(ValueError) as info:
        ssrec.create_loss(name, **options)
    assert message in str(info.value)


def test_unknown_loss_lists_the_registered_ones():
    with pytest.raises(KeyError) as info:
        ssrec.create_loss("hinge")
    assert str(info.value) == "unknown loss 'hinge'; available: bce, bpr, ce, gbce, sampled-softmax"
