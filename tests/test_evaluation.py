"""Ranking metrics against brute-force references computed another way."""
from __future__ import annotations

import math

import numpy as np
import torch

from ssrec.data.dataset import from_sequences
from ssrec.data.split import leave_one_out
from ssrec.evaluation.ranking import concatenated_ranges, evaluate, metrics_from_ranks, rank_full, rank_sampled

N = 25


def random_split(seed=0, users=40):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(1, N + 1, rng.integers(3, 15)).tolist() for _ in range(users)]
    return leave_one_out(from_sequences(seqs, num_items=N), max_len=6), seqs


def table_scorer(seed=0):
    """A scorer whose scores depend on the last input item only (a fixed random table)."""
    table = torch.randn(N + 2, N + 2, generator=torch.Generator().manual_seed(seed))
    return lambda inputs, users: table[inputs[:, -1]]


def test_metrics_by_hand():
    m = metrics_from_ranks(torch.tensor([0, 3, 12, 60]))
    assert m["HR@1"] == 0.25 and m["HR@5"] == 0.5 and m["HR@10"] == 0.5 and m["HR@20"] == 0.75
    assert math.isclose(m["NDCG@5"], (1 + 1 / math.log2(5)) / 4)
    assert math.isclose(m["NDCG@20"], (1 + 1 / math.log2(5) + 1 / math.log2(14)) / 4)
    assert math.isclose(m["MRR"], (1 + 1 / 4 + 1 / 13 + 1 / 61) / 4)


def test_full_ranking_matches_brute_force():
    split, seqs = random_split()
    score = table_scorer()
    for which, cut in (("valid", 2), ("test", 1)):
        ranks = rank_full(score, split, which)
        for u, seq in enumerate(seqs):
            target, history = seq[-cut], set(seq[:-cut])
            s = score(split.inputs(which)[u:u + 1], torch.tensor([u]))[0]
            competitors = [i for i in range(1, N + 1) if i != target and i not in history]
            assert ranks[u] == sum(float(s[i]) >= float(s[target]) for i in competitors)


def test_full_ranking_is_independent_of_chunk_size():
    split, _ = random_split(seed=1)
    score = table_scorer(1)
    torch.testing.assert_close(rank_full(score, split, "test", score_budget=N + 2),
                               rank_full(score, split, "test", score_budget=10_000))


def test_sampled_ranking_matches_numpy_argsort():
    split, seqs = random_split(seed=2)
    g = torch.Generator().manual_seed(0)
    negatives = torch.randint(1, N + 1, (len(seqs), 7), generator=g)
    score = table_scorer(2)
    ranks = rank_sampled(score, split.test_inputs, split.test_targets, negatives, batch_size=7)
    s = score(split.test_inputs, torch.arange(len(split.test_inputs))).numpy()
    for u in range(len(seqs)):
        candidates = np.concatenate([[split.test_targets[u]], negatives[u]])
        vals = s[u, candidates]
        # pessimistic: the target sorts after every tie
        order = np.lexsort((np.r_[1, np.zeros(7)], -vals))
        assert ranks[u] == int(np.flatnonzero(order == 0)[0])


def test_constant_scorer_gets_the_worst_rank():
    split, seqs = random_split(seed=3)

    def zeros(inputs, users):
        return torch.zeros(len(inputs), N + 2)

    negatives = torch.randint(1, N + 1, (len(seqs), 99))
    assert evaluate(zeros, split, "test", "sampled", negatives)["HR@20"] == 0.0
    assert evaluate(zeros, split, "test", "full")["HR@1"] == 0.0


def test_concatenated_ranges():
    starts, ends = np.array([0, 5, 5, 9]), np.array([3, 5, 8, 10])
    assert concatenated_ranges(starts, ends).tolist() == [0, 1, 2, 5, 6, 7, 9]


def test_an_encoders_ranks_are_the_same_from_its_candidates_as_from_all_scores():
    """EncoderScorer takes shortcuts (sampled: only the candidates' scores; full: one reused buffer); a plain
    scorer of the same scores goes the general way. Both protocols must rank alike."""
    import ssrec
    from ssrec.evaluation.ranking import encoder_scorer

    split, seqs = random_split(seed=4)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=N, hidden_size=16, max_len=split.test_inputs.shape[1]).eval()
    shortcut = encoder_scorer(encoder)
    plain = lambda inputs, users: shortcut(inputs, users)  # noqa: E731  a scorer that is not an EncoderScorer
    negatives = torch.randint(1, N + 1, (len(seqs), 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(rank_sampled(shortcut, split.test_inputs, split.test_targets, negatives, batch_size=5),
                           rank_sampled(plain, split.test_inputs, split.test_targets, negatives, batch_size=5))
        assert torch.equal(rank_full(shortcut, split, "test", score_budget=3 * (N + 2)),
                           rank_full(plain, split, "test", score_budget=3 * (N + 2)))
