"""Bayesian personalised ranking (Rendle et al., 2009), as RecBole's ``loss_type = "BPR"`` trains SASRec."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.contracts import LossContext
from ssrec.losses.common import target_positions


class BPRLoss:
    """Per target position, ``-log sigmoid(h.e_pos - h.e_neg)`` with ONE negative drawn uniformly from the
    items the user never interacted with; the mean over target positions."""

    name = "bpr"

    spec: dict[str, object] = {}  # no options

    def setup(self, context: LossContext) -> None:
        self.index = context.index

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        negatives = self.index.sample(users, (targets.shape[1],), generator)  # (B, L)
        h, pos_ids, is_target = target_positions(hidden, targets)  # (T, H), (T,)
        pos = (h * item_table[pos_ids]).sum(-1)  # (T,)
        neg = (h * item_table[negatives[is_target]]).sum(-1)  # (T,)
        return -F.logsigmoid(pos - neg).mean()
