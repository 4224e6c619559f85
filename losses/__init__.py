"""Built-in fine-tuning losses, installed as ``ssrec.losses``; they register through the same hook as plugins.

Every loss follows ``ssrec.contracts.NextItemLoss``: built from its own options, ``setup(context)`` once
per run, then called per batch on the causal hidden states, the next-item targets and the tied item table.
"""
from __future__ import annotations

from ssrec.hookspecs import Register, hookimpl


@hookimpl
def ssrec_register_losses(register: Register) -> None:
    """Register bce, ce, bpr, sampled-softmax and gbce."""
    from ssrec.losses.bpr import BPRLoss
    from ssrec.losses.full_softmax import FullSoftmaxLoss
    from ssrec.losses.generalised_bce import GeneralisedBCELoss
    from ssrec.losses.sampled_bce import SampledBCELoss
    from ssrec.losses.sampled_softmax import SampledSoftmaxLoss

    register("bce", SampledBCELoss, description="released S3-Rec/SASRec: BCE against one sampled negative per position")
    register("ce", FullSoftmaxLoss, description="cross-entropy over the whole catalogue (full softmax)")
    register("bpr", BPRLoss, description="BPR: -log sigmoid(pos - neg), one sampled negative (RecBole loss_type BPR)")
    register("sampled-softmax", SampledSoftmaxLoss,
             description="softmax over the target and k shared negatives (uniform or popularity), logQ-corrected")
    register("gbce", GeneralisedBCELoss, description="gSASRec's generalised BCE: k negatives, calibrated positive")
