"""Vectorized negative sampling: uniform item ids that a user has not interacted with.

``UserItemIndex`` answers "did user u interact with item i?" for whole tensors at once by binary search
over sorted keys ``u * (N + 2) + i``: memory O(interactions), no Python loop per sample.
"""
from __future__ import annotations

import numpy as np
import torch

from ssrec.data.dataset import SequenceDataset

MAX_REJECTION_ROUNDS = 1000


class UserItemIndex:
    """Membership test for (user row, item id) pairs of a data set, on any device."""

    def __init__(self, dataset: SequenceDataset, device: torch.device | str = "cpu") -> None:
        self.num_items = dataset.num_items
        self.stride = dataset.num_items + 2
        users = np.repeat(np.arange(dataset.num_users, dtype=np.int64), dataset.lengths)
        keys = np.unique(users * self.stride + dataset.items)
        self.keys = torch.from_numpy(keys).to(device)
        distinct = np.bincount(keys // self.stride, minlength=dataset.num_users)
        self.items_per_user = torch.from_numpy(distinct).to(device)  # (U,) distinct items per user

    def to(self, device: torch.device | str) -> UserItemIndex:
        self.keys = self.keys.to(device)
        self.items_per_user = self.items_per_user.to(device)
        return self

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Bool tensor, broadcast shape of ``users`` and ``items``: True where the user has the item."""
        query = users * self.stride + items
        pos = torch.searchsorted(self.keys, query.reshape(-1)).clamp_(max=len(self.keys) - 1)
        return (self.keys[pos] == query.reshape(-1)).reshape(query.shape)

    def sample(self, users: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Uniform items in 1..N, none of them an item of the row's user: (len(users), *shape).

        Rejection sampling, vectorized: only the rejected entries are redrawn each round.
        """
        users_b = users.reshape(-1, *([1] * len(shape)))
        out = torch.randint(1, self.num_items + 1, (len(users), *shape), generator=generator,
                            device=users.device)
        bad = self.contains(users_b, out)
        for _ in range(MAX_REJECTION_ROUNDS):
            n_bad = int(bad.sum())
            if n_bad == 0:
                return out
            out[bad] = torch.randint(1, self.num_items + 1, (n_bad,), generator=generator, device=users.device)
            bad = self.contains(users_b.expand_as(out), out) & bad
        raise RuntimeError("negative sampling did not converge: some user has interacted with (nearly) all items")


def sample_distinct_negatives(index: UserItemIndex, count: int, seed: int) -> np.ndarray:
    """``count`` distinct uniform negatives per user (sampled-evaluation protocol), seeded: (U, count) int64.

    Every row excludes the user's items. Rows are drawn together; duplicated entries within a row are
    redrawn until the row is distinct.
    """
    num_users = len(index.items_per_user)
    if num_users and int((index.num_items - index.items_per_user).min()) < count:
        raise ValueError(f"cannot draw {count} distinct negatives: a user has fewer than {count} unseen items")
    g = torch.Generator().manual_seed(seed)
    users = torch.arange(num_users)
    out = index.sample(users, (count,), g)
    for _ in range(MAX_REJECTION_ROUNDS):
        ordered, order = out.sort(dim=1)
        dup_sorted = torch.zeros_like(ordered, dtype=torch.bool)
        dup_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        dup = torch.zeros_like(dup_sorted).scatter_(1, order, dup_sorted)
        rows, cols = dup.nonzero(as_tuple=True)
        if len(rows) == 0:
            return out.numpy()
        out[rows, cols] = index.sample(users[rows], (), g)
    raise RuntimeError("could not draw distinct negatives")
