"""CL4SRec's three sequence augmentations, vectorized over a left-padded batch on its device.

Every function takes ``items`` (B, L), left-padded with 0, and returns a new left-padded (B, L) tensor;
the input is never modified. Randomness comes only from ``generator`` (on the batch's device).

- ``crop``: a random contiguous sub-sequence of ``max(1, floor(ratio * n))`` of a row's n items.
- ``mask``: each real item replaced by ``mask_id`` with probability ``ratio``.
- ``reorder``: a random contiguous segment of ``max(1, floor(ratio * n))`` items shuffled in place.
- ``augment``: each row gets one of the three, chosen uniformly (CL4SRec's random augmentation).
"""
from __future__ import annotations

import torch


def _lengths(items: torch.Tensor) -> torch.Tensor:
    return (items != 0).sum(dim=1)  # (B,) real items per row (left padding)


def _segment(n: torch.Tensor, ratio: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the length k = max(1, floor(ratio * n)) and a uniform start in [0, n - k] of a segment."""
    k = torch.clamp((n.double() * ratio).floor().long(), min=1).minimum(n.clamp(min=1))
    u = torch.rand(n.shape, generator=generator, device=n.device)
    start = (u * (n - k + 1)).floor().long().clamp(max=(n - k).clamp(min=0))
    return k, start


def crop(items: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Keep a random contiguous ``ratio`` of each row, left-padded."""
    B, L = items.shape
    n = _lengths(items)
    k, start = _segment(n, ratio, generator)
    j = torch.arange(L, device=items.device)[None, :]  # (1, L) output positions
    source = (L - n)[:, None] + start[:, None] + j - (L - k)[:, None]  # (B, L) input position of output j
    kept = j >= (L - k)[:, None]
    return torch.where(kept, items.gather(1, source.clamp(0, L - 1)), 0)


def mask(items: torch.Tensor, ratio: float, mask_id: int, generator: torch.Generator) -> torch.Tensor:
    """Replace each real item by ``mask_id`` with probability ``ratio``."""
    hit = torch.rand(items.shape, generator=generator, device=items.device) < ratio
    return torch.where(hit & (items != 0), mask_id, items)


def reorder(items: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Shuffle a random contiguous ``ratio`` of each row in place."""
    B, L = items.shape
    n = _lengths(items)
    k, start = _segment(n, ratio, generator)
    j = torch.arange(L, device=items.device)[None, :].double()  # (1, L)
    first = (L - n + start)[:, None].double()  # (B, 1) position where the segment begins
    inside = (j >= first) & (j < first + k[:, None])
    # sort keys: positions outside keep their index; inside, random keys within [first, first + k)
    noise = torch.rand(items.shape, generator=generator, device=items.device, dtype=torch.float64)
    keys = torch.where(inside, first + noise * (k[:, None].double() - 1e-6), j)
    return items.gather(1, keys.argsort(dim=1, stable=True))


def augment(items: torch.Tensor, *, crop_ratio: float, mask_ratio: float, reorder_ratio: float, mask_id: int,
            generator: torch.Generator) -> torch.Tensor:
    """One view: every row augmented by crop, mask or reorder, chosen uniformly per row."""
    choice = torch.randint(0, 3, (items.shape[0], 1), generator=generator, device=items.device)  # (B, 1)
    views = (crop(items, crop_ratio, generator), mask(items, mask_ratio, mask_id, generator),
             reorder(items, reorder_ratio, generator))
    return torch.where(choice == 0, views[0], torch.where(choice == 1, views[1], views[2]))
