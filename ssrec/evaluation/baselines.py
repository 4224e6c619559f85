"""Reference scorers that need no training, to put model metrics in context."""
from __future__ import annotations

import numpy as np
import torch

from ssrec.data.split import LeaveOneOut
from ssrec.evaluation.ranking import Scorer, concatenated_ranges


def popularity_scorer(split: LeaveOneOut) -> Scorer:
    """Score every item by how often it occurs in the training parts of all sequences (same for every user)."""
    data = split.dataset
    train = data.items[concatenated_ranges(data.offsets[:-1], data.offsets[1:] - 2)]
    counts = torch.from_numpy(np.bincount(train, minlength=data.num_items + 2).astype(np.float32))

    def score(inputs: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        return counts.to(inputs.device).expand(len(inputs), -1)  # (B, N + 2)
    return score
