"""What several losses share: the target positions of a batch, and negatives drawn once per batch."""
from __future__ import annotations

import torch

DISTRIBUTIONS = ("uniform", "popularity")


def target_positions(hidden: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The hidden states (T, H) and target ids (T,) of the positions with a target, and that mask (B, L)."""
    is_target = targets > 0  # (B, L)
    return hidden[is_target], targets[is_target], is_target


def check_negatives(num_negatives: int, distribution: str, who: str) -> None:
    """Refuse a count below 1 or an unknown sampling distribution, naming the loss."""
    if not isinstance(num_negatives, int) or isinstance(num_negatives, bool) or num_negatives < 1:
        raise ValueError(f"{who}: num_negatives must be an integer >= 1, got {num_negatives!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"{who}: distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")


def sampling_probabilities(item_counts: torch.Tensor, distribution: str) -> torch.Tensor:
    """q (N + 2,): the probability of drawing each item id, 0 for PAD and MASK.

    "uniform": 1/N each; "popularity": proportional to the item's training-target count plus one, so that no
    item is impossible to draw and every logQ correction is finite.
    """
    q = torch.ones_like(item_counts, dtype=torch.float32)
    if distribution == "popularity":
        q += item_counts.float()
    q[0] = q[-1] = 0.0
    return q / q.sum()


def shared_negatives(q: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` item ids (k,) drawn with replacement from ``q``, shared by every position of a batch."""
    return torch.multinomial(q, count, replacement=True, generator=generator)
