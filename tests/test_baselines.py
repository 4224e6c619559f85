"""The popularity reference scorer, under both protocols."""
from __future__ import annotations

import torch

from ssrec.data.dataset import from_sequences
from ssrec.data.split import leave_one_out
from ssrec.evaluation.baselines import popularity_scorer
from ssrec.evaluation.ranking import evaluate


def test_popularity_ranks_items_by_training_counts():
    # item 5 is the most frequent training item; user 0 has not seen it and its test target is 5
    data = from_sequences([[1, 2, 3, 5], [5, 5, 1, 2], [5, 3, 1, 4], [5, 2, 3, 4]], num_items=6)
    split = leave_one_out(data, max_len=4)
    score = popularity_scorer(split)
    users = torch.arange(len(split.test_inputs))
    scores = score(split.test_inputs, users)
    assert scores.shape == (4, 8) and float(scores[0, 5]) == 4.0 and float(scores[0, 6]) == 0.0
    full = evaluate(score, split, "test", "full")
    assert full["HR@1"] > 0  # user 0 ranks item 5 first
    assert torch.equal(score(split.test_inputs, users), scores), "evaluation must not modify the scorer's output"
    negatives = torch.tensor([[6]] * 4)
    # targets 5 and 2 beat item 6 (count 0); the target 4 of users 2 and 3 ties with it at 0 and ties
    # count against the target
    assert evaluate(score, split, "test", "sampled", negatives)["HR@1"] == 0.5
