"""What the pre-training and fine-tuning loops share, so that each loop keeps only its own plain step.

``LoopPlumbing`` owns a loop's random streams (one per process for the step's randomness, one shared for
the epoch order), resumes them from a training state, cuts each epoch into batches (length-bucketed or
plain random, split between ``torchrun`` processes), checks that a loss is finite, announces the end of an
epoch (plugins and the caller's callback, on rank 0) and writes the per-epoch training state and the
stage's final checkpoint into the run folder (rank 0 only).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ssrec import distributed
from ssrec.contracts import Encoder
from ssrec.data.batching import POOL_BATCHES, bucketed_batches
from ssrec.io.checkpoint import save_checkpoint
from ssrec.plugins import notify_epoch_end
from ssrec.training.resume import restore, save_training_state

log = logging.getLogger(__name__)

STAGE_NAMES = {"pretrain": "pre-training", "finetune": "fine-tuning"}
EpochCallback = Callable[[int, dict[str, float]], None]


class LoopPlumbing:
    """The bookkeeping of one training loop (``stage`` "pretrain" or "finetune").

    Args:
        step_stream: the name the step's generator is saved under in the training state ("corruption",
            "negatives").
        out: the run folder, or None to write nothing.
        identity: what a resumed run must share with this one (``ssrec.training.resume``).
    """

    def __init__(self, stage: str, *, seed: int, device: torch.device, step_stream: str, out: Path | None,
                 identity: dict[str, Any]) -> None:
        self.stage, self.seed, self.out, self.identity = stage, seed, out, identity
        self.rank, self.world = distributed.rank(), distributed.world_size()
        # per-process step randomness and dropout; the same epoch order everywhere (shard_batches splits it)
        self.generator = torch.Generator(device=device).manual_seed(seed + self.rank)
        self.shuffle = torch.Generator().manual_seed(seed)
        if self.rank:
            torch.manual_seed(seed + self.rank)
        self.streams = {step_stream: self.generator, "shuffle": self.shuffle}
        self.writes = out is not None and distributed.is_main()

    def resume(self, state: dict[str, Any], model: nn.Module | Encoder, optimizer: torch.optim.Optimizer) -> int:
        """Load a training state's weights, optimizer and random streams; the epoch it was saved after."""
        restore(state, model, optimizer, self.streams)
        epoch = int(state["epoch"])
        if self.rank:  # the state holds rank 0's random streams: the other processes draw fresh ones
            self.generator.manual_seed(self.seed + self.rank + self.world * epoch)
            torch.manual_seed(self.seed + self.rank + self.world * epoch)
        return epoch

    def batches(self, lengths: torch.Tensor, batch_size: int, bucketing: bool) -> list[torch.Tensor]:
        """This process's batches of one epoch: row indices into ``lengths``, every row once over all processes."""
        pool = POOL_BATCHES if bucketing else 1
        batches = bucketed_batches(lengths, distributed.per_process(batch_size), self.shuffle, pool)
        return distributed.shard_batches(batches, self.rank, self.world)

    def check_finite(self, value: float, where: str, kept: str) -> None:
        """Stop the run with a ``FloatingPointError`` if ``value`` (the loss at ``where``) is not finite."""
        if not math.isfinite(value):
            raise FloatingPointError(f"{STAGE_NAMES[self.stage]} loss is {value} {where}; stopping ({kept})")

    def end_epoch(self, epoch: int, logs: dict[str, float], on_epoch_end: EpochCallback | None) -> None:
        """Announce a finished epoch to plugins (``ssrec_epoch_end``) and to the caller, on rank 0."""
        if distributed.is_main():
            notify_epoch_end(self.stage, epoch, logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)

    def save_state(self, epoch: int, model: nn.Module | Encoder, optimizer: torch.optim.Optimizer,
                   **bookkeeping: Any) -> None:
        """Write ``out/STAGE-state.pt`` for the end of ``epoch`` (nothing without a run folder)."""
        if self.writes:
            assert self.out is not None
            save_training_state(self.out, self.stage, epoch=epoch, identity=self.identity, model=model,
                                optimizer=optimizer, generators=self.streams, **bookkeeping)

    def save_checkpoint(self, name: str, encoder: Encoder, kind: str, **extra: Any) -> None:
        """Write the checkpoint ``out/NAME`` of ``encoder`` with ``extra`` entries (nothing without a run folder)."""
        if self.writes:
            assert self.out is not None
            save_checkpoint(self.out / name, encoder, kind=kind, **extra)
