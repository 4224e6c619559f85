"""Cross-entropy over the whole catalogue: the loss of SASRec+ / "Dross into gold" (Klenitskiy & Vasilev, 2023)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.contracts import LossContext
from ssrec.losses.common import target_positions


class FullSoftmaxLoss:
    """``-log softmax(h . E^T)[target]`` over items 1..N (PAD and MASK are no candidates); mean over targets."""

    name = "ce"

    spec: dict[str, object] = {}  # no options

    def setup(self, context: LossContext) -> None:
        pass  # needs nothing but the batch

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        h, pos_ids, _ = target_positions(hidden, targets)  # (T, H), (T,)
        logits = h @ item_table[1:-1].T  # (T, N): column j is item j + 1
        return F.cross_entropy(logits, pos_ids - 1)
