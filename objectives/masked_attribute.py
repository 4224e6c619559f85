"""MAP, S3-Rec's sequence-attribute objective: predict a masked item's attributes from its context.

Scored at the masked positions of the shared masked view (the last position always among them); see
``attribute_prediction`` for the loss. Released weight 1.0.
"""
from __future__ import annotations

import torch

from ssrec.data.corruption import MaskedItems
from ssrec.objectives.attribute_prediction import AttributePrediction


class MaskedAttributePrediction(AttributePrediction):
    """Masked Attribute Prediction. Options: ``mask_ratio`` (0.2), ``reduction`` ("sum"; "mean" per position)."""

    name = "map"
    default_weight = 1.0

    def positions(self, view: MaskedItems) -> torch.Tensor:
        return view.masked
