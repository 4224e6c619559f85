"""Pre-training samples as released: every prefix of each user's last ``max_len`` training items.

For a user with items s[0..n-1] the training part is s[:-2] (the last two items are the validation and
test targets); its last ``max_len`` items form a window w, and w[:1], w[:2], ..., w[:len(w)] are the
samples (Beauty: 150,258 per epoch). Samples are kept as (start, end) offsets into the data set's
concatenated items, and batches are cut from them on the device without Python loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ssrec.data.dataset import SequenceDataset


def padded_attribute_table(dataset: SequenceDataset) -> torch.Tensor | None:
    """The item attributes as a padded table (N + 2, K) of attribute ids, 0 = none; None without attributes."""
    attrs = dataset.attributes
    if attrs is None:
        return None
    counts = np.diff(attrs.offsets)  # (N + 2,)
    table = np.zeros((len(counts), max(1, int(counts.max(initial=0)))), dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    slot = np.arange(len(attrs.values)) - attrs.offsets[owner]
    table[owner, slot] = attrs.values
    return torch.from_numpy(table)


@dataclass
class PretrainData:
    """The tensors the objectives read during pre-training, all on one device.

    Attributes:
        num_items: N (MASK is N + 1).
        num_attributes: rows of the attribute table (max id + 1), 0 without attributes.
        attribute_table: (N + 2, K) attribute ids per item, 0-padded; None without attributes.
        all_items: (I,) every user's full sequence concatenated (the source of SP's negative segments).
        starts, ends: (S,) each sample's offsets into ``all_items``; ``users``: (S,) its user row.
    """

    num_items: int
    num_attributes: int
    attribute_table: torch.Tensor | None
    all_items: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor
    users: torch.Tensor

    @property
    def mask_id(self) -> int:
        return self.num_items + 1

    @property
    def num_samples(self) -> int:
        return len(self.ends)

    @property
    def lengths(self) -> torch.Tensor:
        return self.ends - self.starts

    def to(self, device: torch.device | str) -> PretrainData:
        for name in ("attribute_table", "all_items", "starts", "ends", "users"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self

    def batch(self, samples: torch.Tensor) -> PretrainBatch:
        """The samples at indices ``samples`` (B,), left-padded to the longest of them: (B, L)."""
        starts, ends = self.starts[samples], self.ends[samples]
        width = int((ends - starts).max())
        index = ends[:, None] - width + torch.arange(width, device=ends.device)[None, :]  # (B, L)
        real = index >= starts[:, None]
        items = torch.where(real, self.all_items[index.clamp(min=0)], 0)
        return PretrainBatch(items=items, users=self.users[samples])


@dataclass(frozen=True)
class PretrainBatch:
    """One batch of pre-training samples: ``items`` (B, L) left-padded prefixes, ``users`` (B,) their rows."""

    items: torch.Tensor
    users: torch.Tensor


def pretrain_samples(dataset: SequenceDataset, max_len: int = 50) -> PretrainData:
    """Every prefix of each user's last ``max_len`` training items (see the module docstring)."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    train_end = dataset.offsets[1:] - 2  # (U,) exclusive end of s[:-2]
    window_start = np.maximum(dataset.offsets[:-1], train_end - max_len)
    counts = train_end - window_start  # (U,) samples per user
    users = np.repeat(np.arange(dataset.num_users), counts)
    rank = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)  # 0..count-1
    starts = window_start[users]
    ends = starts + rank + 1
    attributes = dataset.attributes
    return PretrainData(
        num_items=dataset.num_items, num_attributes=attributes.num_attributes if attributes is not None else 0,
        attribute_table=padded_attribute_table(dataset), all_items=torch.from_numpy(dataset.items.copy()),
        starts=torch.from_numpy(starts), ends=torch.from_numpy(ends), users=torch.from_numpy(users))
