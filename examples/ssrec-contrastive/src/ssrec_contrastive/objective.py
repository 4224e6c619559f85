"""The contrastive objective: two augmented views of each sequence, InfoNCE over the batch (CL4SRec).

Xie et al., "Contrastive Learning for Sequential Recommendation" (ICDE 2022): each sequence s_u gives
two views by random crop / mask / reorder; their sequence representations (the encoder's output at the
last position, here ``step.summarize``) are pulled together while the other 2B - 2 views of the batch
are negatives:  l = -log exp(sim(z_i, z_j) / t) / sum_{k != i} exp(sim(z_i, z_k) / t),  averaged over
all 2B views. It needs nothing but a sequence summary, so it composes with every ssrec backbone,
Caser included.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import MemoKey

from ssrec_contrastive.augment import augment


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float, similarity: str = "dot") -> torch.Tensor:
    """NT-Xent over the 2B views ``z1``, ``z2`` (B, H): row i of z1 and row i of z2 are the positive pair."""
    z = torch.cat([z1, z2])  # (2B, H)
    if similarity == "cos":
        z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature  # (2B, 2B)
    logits = logits.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
    B = len(z1)
    targets = torch.cat([torch.arange(B, 2 * B), torch.arange(0, B)]).to(z.device)
    return F.cross_entropy(logits, targets)


class Contrastive(nn.Module):
    """CL4SRec's contrastive objective for ``ssrec.compose``.

    Options: ``crop_ratio`` (eta), ``mask_ratio`` (gamma), ``reorder_ratio`` (beta), ``temperature`` and
    ``similarity`` ("dot" as CL4SRec, or "cos"). It has no parameters of its own: the loss trains the encoder.
    """

    name = "contrastive"
    requires = frozenset()  # a sequence summary is all it needs
    fields = frozenset()
    default_weight = 1.0

    def __init__(self, crop_ratio: float = 0.6, mask_ratio: float = 0.3, reorder_ratio: float = 0.6,
                 temperature: float = 1.0, similarity: str = "dot") -> None:
        super().__init__()
        for option, value in (("crop_ratio", crop_ratio), ("mask_ratio", mask_ratio), ("reorder_ratio", reorder_ratio)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"contrastive: {option} must be in (0, 1], got {value}")
        if temperature <= 0:
            raise ValueError(f"contrastive: temperature must be > 0, got {temperature}")
        if similarity not in ("dot", "cos"):
            raise ValueError(f"contrastive: similarity must be 'dot' or 'cos', got {similarity!r}")
        self.crop_ratio, self.mask_ratio, self.reorder_ratio = crop_ratio, mask_ratio, reorder_ratio
        self.temperature, self.similarity = temperature, similarity
        self.spec = {"crop_ratio": crop_ratio, "mask_ratio": mask_ratio, "reorder_ratio": reorder_ratio,
                     "temperature": temperature, "similarity": similarity}

    def setup(self, context) -> None:
        """Nothing to build: no heads."""

    def loss(self, batch, step) -> torch.Tensor:
        """InfoNCE between two augmented views of ``batch.items`` (B, L)."""
        options = dict(crop_ratio=self.crop_ratio, mask_ratio=self.mask_ratio, reorder_ratio=self.reorder_ratio,
                       mask_id=step.data.mask_id, generator=step.generator)
        view1, view2 = augment(batch.items, **options), augment(batch.items, **options)  # (B, L) each
        z1 = step.summarize(MemoKey(self.name, 1), view1, batch.users)  # (B, H)
        z2 = step.summarize(MemoKey(self.name, 2), view2, batch.users)  # (B, H)
        return info_nce(z1, z2, self.temperature, self.similarity)
