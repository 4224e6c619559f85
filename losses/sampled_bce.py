"""The released S3-Rec/SASRec fine-tuning loss: BCE of the target against one sampled negative."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.losses.common import OneNegativeLoss


class SampledBCELoss(OneNegativeLoss):
    """Per target position, ``-log sigmoid(h.e_pos) - log(1 - sigmoid(h.e_neg))`` with ONE negative drawn
    uniformly from the items the user never interacted with; the mean over target positions (as released)."""

    name = "bce"

    def pair_loss(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg)).mean()
