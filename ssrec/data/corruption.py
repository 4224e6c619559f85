"""Vectorized batch corruption for self-supervised objectives: masking, negatives, segments.

Every function works on whole (B, L) tensors of left-padded item ids on their own device, drawing its
randomness from a ``torch.Generator`` on that device: no per-sample Python loop, and a fixed seed gives
the same corruption. Ids follow S3-Rec (PAD 0, items 1..N, MASK N + 1). The defaults are the released
ones (REFERENCE.md): mask ratio 0.2 with the last position always masked, negatives uniform over the
items not in the sample, segments of uniform length 1..floor(len/2) at a uniform start.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_REJECTION_ROUNDS = 1000


@dataclass(frozen=True)
class MaskedItems:
    """A masked view of a batch: ``items`` (B, L) with MASK where ``masked`` (B, L) is True."""

    items: torch.Tensor
    masked: torch.Tensor


def mask_items(items: torch.Tensor, mask_id: int, ratio: float, generator: torch.Generator) -> MaskedItems:
    """Replace each real item by MASK with probability ``ratio``; the last item (last column) always.

    ``items``: left-padded ids (B, L), so the last real item of every non-empty row is in column L - 1.
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must lie in [0, 1], got {ratio}")
    real = items != 0  # (B, L)
    masked = (torch.rand(items.shape, generator=generator, device=items.device) < ratio) & real
    masked[:, -1] = real[:, -1]
    return MaskedItems(torch.where(masked, torch.full_like(items, mask_id), items), masked)


def sample_excluding(forbidden: torch.Tensor, count: int, num_items: int,
                     generator: torch.Generator) -> torch.Tensor:
    """``count`` uniform items in 1..N per row, none of them among that row's ``forbidden`` ids: (R, count).

    ``forbidden`` (R, L) holds each row's items (PAD 0 entries are ignored, since candidates are >= 1).
    Rejection sampling, vectorized: only rejected entries are redrawn. The draws of one row are
    independent, so they may repeat.
    """
    R = forbidden.shape[0]
    out = torch.randint(1, num_items + 1, (R, count), generator=generator, device=forbidden.device)
    for _ in range(MAX_REJECTION_ROUNDS):
        bad = (out[:, :, None] == forbidden[:, None, :]).any(dim=-1)  # (R, count)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return out
        out[bad] = torch.randint(1, num_items + 1, (n_bad,), generator=generator, device=forbidden.device)
    raise RuntimeError("negative sampling did not converge: a sample contains (nearly) every item")


@dataclass(frozen=True)
class SegmentViews:
    """The three views of S3-Rec's segment prediction (each (B, L), left-padded like the batch).

    ``context``: the sequence with the segment replaced by MASK; ``positive``: the segment at its
    positions, every other real position MASK; ``negative``: a window of the same length from the
    concatenation of all users' sequences, placed the same way. Rows shorter than 2 items are the
    unmasked sequence in all three views. ``segment`` marks the segment's positions.
    """

    context: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    segment: torch.Tensor


def _uniform_below(bound: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Uniform integers in 0..bound-1 for every entry of ``bound`` (>= 1), drawn in float64."""
    u = torch.rand(bound.shape, generator=generator, device=bound.device, dtype=torch.float64)
    return torch.minimum((u * bound).long(), bound - 1)


def segment_views(items: torch.Tensor, all_items: torch.Tensor, mask_id: int,
                  generator: torch.Generator) -> SegmentViews:
    """Draw one segment per row as released (see ``SegmentViews``).

    ``all_items`` (I,) is every user's sequence concatenated, the source of negative segments.
    """
    B, L = items.shape
    real = items != 0  # (B, L)
    lengths = real.sum(dim=1)  # (B,)
    has_segment = lengths >= 2
    seg_len = 1 + _uniform_below((lengths // 2).clamp(min=1), generator)  # 1..floor(len/2)
    start = _uniform_below((lengths - seg_len + 1).clamp(min=1), generator)  # 0..len-seg_len
    neg_start = _uniform_below(len(all_items) - seg_len + 1, generator)  # 0..I-seg_len
    position = torch.arange(L, device=items.device)[None, :] - (L - lengths)[:, None]  # (B, L), j in the sequence
    offset = position - start[:, None]  # (B, L), position inside the segment
    segment = (offset >= 0) & (offset < seg_len[:, None]) & has_segment[:, None]
    mask = torch.full_like(items, mask_id)
    outside = torch.where(real, mask, items)  # MASK at real positions, PAD stays PAD
    negatives = all_items[(neg_start[:, None] + offset).clamp(0, len(all_items) - 1)]  # (B, L)
    keep = ~has_segment[:, None]
    return SegmentViews(
        context=torch.where(segment, mask, items),
        positive=torch.where(keep, items, torch.where(segment, items, outside)),
        negative=torch.where(keep, items, torch.where(segment, negatives, outside)),
        segment=segment)

