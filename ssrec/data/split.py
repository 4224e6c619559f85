"""Leave-one-out split into left-padded tensors.

For a user with items s[0..n-1]: the test target is s[n-1] (input s[:-1], which includes the validation
item), the validation target is s[n-2] (input s[:-2]), and training predicts s[1:n-2] from s[:n-3],
every position predicting the next item (as released). Inputs keep the LAST ``max_len`` items and are
left-padded with PAD = 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ssrec.data.dataset import SequenceDataset

Split = Literal["valid", "test"]


def left_padded(items: np.ndarray, starts: np.ndarray, ends: np.ndarray, max_len: int) -> np.ndarray:
    """Rows ``items[starts[u]:ends[u]]`` truncated to their last ``max_len`` items, left-padded with 0.

    Returns an int64 array (U, max_len). Vectorized: no per-row Python loop.
    """
    index = ends[:, None] - max_len + np.arange(max_len)[None, :]  # (U, L) source positions
    valid = index >= starts[:, None]
    out = np.where(valid, items[np.clip(index, 0, max(len(items) - 1, 0))], 0)
    return out.astype(np.int64)


@dataclass(frozen=True)
class LeaveOneOut:
    """The three views of a data set that fine-tuning and evaluation read (all int64 CPU tensors)."""

    dataset: SequenceDataset
    max_len: int
    train_inputs: torch.Tensor  # (U, L)
    train_targets: torch.Tensor  # (U, L), 0 where there is no target
    valid_inputs: torch.Tensor  # (U, L)
    valid_targets: torch.Tensor  # (U,)
    test_inputs: torch.Tensor  # (U, L)
    test_targets: torch.Tensor  # (U,)

    def inputs(self, split: Split) -> torch.Tensor:
        return {"valid": self.valid_inputs, "test": self.test_inputs}[split]

    def targets(self, split: Split) -> torch.Tensor:
        return {"valid": self.valid_targets, "test": self.test_targets}[split]

    def history_ends(self, split: Split) -> np.ndarray:
        """End offset (exclusive) into ``dataset.items`` of every user's history for ``split``."""
        return self.dataset.offsets[1:] - (2 if split == "valid" else 1)


def leave_one_out(dataset: SequenceDataset, max_len: int = 50) -> LeaveOneOut:
    """Split every user's sequence leave-one-out (see the module docstring)."""
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    items, starts, ends = dataset.items, dataset.offsets[:-1], dataset.offsets[1:]

    def pad(s: np.ndarray, e: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(left_padded(items, s, e, max_len))

    return LeaveOneOut(
        dataset=dataset, max_len=max_len,
        train_inputs=pad(starts, ends - 3), train_targets=pad(starts + 1, ends - 2),
        valid_inputs=pad(starts, ends - 2), valid_targets=torch.from_numpy(items[ends - 2].copy()),
        test_inputs=pad(starts, ends - 1), test_targets=torch.from_numpy(items[ends - 1].copy()))
