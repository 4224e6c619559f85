"""Bayesian personalised ranking (Rendle et al., 2009), as RecBole's ``loss_type = "BPR"`` trains SASRec."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.losses.common import OneNegativeLoss


class BPRLoss(OneNegativeLoss):
    """Per target position, ``-log sigmoid(h.e_pos - h.e_neg)`` with ONE negative drawn uniformly from the
    items the user never interacted with; the mean over target positions."""

    name = "bpr"

    def pair_loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        return -F.logsigmoid(pos - neg).mean()
