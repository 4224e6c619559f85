"""Built-in pre-training objectives, installed as ``ssrec.objectives``: the four of S3-Rec.

They register through the same hook as third-party plugins. Each follows ``ssrec.contracts.Objective``
and is faithful by default to the authors' release (REFERENCE.md); improvements are named options.
"""
from __future__ import annotations

from ssrec.hookspecs import Register, hookimpl


@hookimpl
def ssrec_register_objectives(register: Register) -> None:
    """Register AAP, MIP, MAP and SP."""
    from ssrec.objectives.associated_attribute import AssociatedAttributePrediction
    from ssrec.objectives.masked_attribute import MaskedAttributePrediction
    from ssrec.objectives.masked_item import MaskedItemPrediction
    from ssrec.objectives.segment import SegmentPrediction

    register("aap", AssociatedAttributePrediction,
             description="S3-Rec item-attribute: an item's attributes from its position (weight 0.2)")
    register("mip", MaskedItemPrediction, description="S3-Rec sequence-item: masked items from context (weight 1.0)")
    register("map", MaskedAttributePrediction,
             description="S3-Rec sequence-attribute: masked items' attributes (weight 1.0)")
    register("sp", SegmentPrediction,
             description="S3-Rec sequence-segment: masked segment vs a random one (weight 0.5)")
