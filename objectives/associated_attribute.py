"""AAP, S3-Rec's item-attribute objective: predict an item's attributes from its own position.

Scored at the unmasked real positions of the shared masked view (the positions MIP and MAP do not
score); see ``attribute_prediction`` for the loss. Released weight 0.2.
"""
from __future__ import annotations

import torch

from ssrec.data.corruption import MaskedItems
from ssrec.objectives.attribute_prediction import AttributePrediction


class AssociatedAttributePrediction(AttributePrediction):
    """Associated Attribute Prediction. Options: ``mask_ratio`` (0.2), ``reduction`` ("sum"; "mean" per position)."""

    name = "aap"
    default_weight = 0.2

    def positions(self, view: MaskedItems) -> torch.Tensor:
        return ~view.masked & (view.items != 0)
