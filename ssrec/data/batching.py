"""Length-aware batching: work proportional to real tokens, not to max_len.

Inputs are left-padded and backbones place the last item at the last position whatever the width, so a
batch can be trimmed to its longest row without changing any output. Batches of similar lengths make that
trimming pay: ``bucketed_batches`` shuffles the rows, sorts them by length inside large random pools,
cuts the pools into batches and shuffles the batch order (as fairseq and ESPnet do).
"""
from __future__ import annotations

import torch

POOL_BATCHES = 50  # batches per sorting pool: larger pools give more uniform lengths, less randomness


def bucketed_batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator,
                     pool_batches: int = POOL_BATCHES) -> list[torch.Tensor]:
    """Batches of indices into ``lengths`` (R,), at most ``batch_size`` each; every index exactly once.

    With ``pool_batches=1`` this is plain random batching (the released behaviour).
    """
    order = torch.randperm(len(lengths), generator=generator)
    pool = batch_size * pool_batches
    batches: list[torch.Tensor] = []
    for lo in range(0, len(order), pool):
        chunk = order[lo:lo + pool]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches.extend(chunk.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def trim_leading_padding(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Drop the leading columns that are PAD in every row of the first tensor, from all tensors (B, L)."""
    real = (tensors[0] != 0).any(dim=0).nonzero()
    first = int(real[0]) if len(real) else tensors[0].shape[1] - 1
    return tuple(t[:, first:] for t in tensors)
