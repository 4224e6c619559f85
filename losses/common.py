"""What several losses share: the target positions of a batch, and negatives drawn once per batch."""
from __future__ import annotations

import torch

from ssrec.contracts import LossContext
from ssrec.data.sampling import UserItemIndex

DISTRIBUTIONS = ("uniform", "popularity")


def target_positions(hidden: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The hidden states (T, H) and target ids (T,) of the positions with a target, and that mask (B, L)."""
    is_target = targets > 0  # (B, L)
    return hidden[is_target], targets[is_target], is_target


def one_negative_scores(index: UserItemIndex, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                        item_table: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (T,) of every target and of ONE negative per target position, drawn uniformly from the items the
    position's user never interacted with (the released sampler)."""
    negatives = index.sample(users, (targets.shape[1],), generator)  # (B, L)
    h, pos_ids, is_target = target_positions(hidden, targets)  # (T, H), (T,)
    pos = (h * item_table[pos_ids]).sum(-1)  # (T,)
    neg = (h * item_table[negatives[is_target]]).sum(-1)  # (T,)
    return pos, neg


class OneNegativeLoss:
    """A loss of each target's score against ONE sampled negative's (``one_negative_scores``); subclasses give
    ``name`` and ``pair_loss``, the mean over target positions of a function of the two scores."""

    name = ""
    spec: dict[str, object] = {}  # no options

    def setup(self, context: LossContext) -> None:
        self.index = context.index

    def pair_loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        pos, neg = one_negative_scores(self.index, hidden, targets, users, item_table, generator)  # (T,), (T,)
        return self.pair_loss(pos, neg)


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
