"""Named departures from the released settings, applied to a run spec (``--preset NAME``; options given
after it still override it).

``throughput`` reaches the faithful run's quality sooner on the hardware at hand. What it changes from the
release, each change measured by time to quality (``benchmarks/time_to_quality.py``, results in
``benchmarks/results/time-to-quality-lastfm.csv``; the issue-18 note has the figures):

- pre-training without SP. SP encodes three extra views of every sample (3B of the 4B rows the encoder
  sees per step), so it costs ~57% of a pre-training epoch; on LastFM dropping it lost nothing measurable.
- pre-training for 10 epochs at lr 3e-3 instead of 100-150 at 1e-3.
- fine-tuning at lr 3e-3 (1e-3 released) with the released early stopping (patience 10): 38 epochs instead
  of ssrec's default ~190, at the same test NDCG@10 as with lr 3e-3 and ssrec's stopping (98 epochs).

Measured and not adopted (no gain on a CPU at S3-Rec's size): larger pre-training batches (the step is
bound by per-token work on LastFM), bf16 (10% on LastFM), two torchrun processes (slower than two threads),
``torch.compile`` (slower than eager). On a GPU, combine it with ``--precision bf16``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ssrec.runs.spec import ObjectiveSpec, RunSpec

#: the throughput preset's pre-training and fine-tuning fields
THROUGHPUT_PRETRAIN: dict[str, Any] = {
    "objectives": (ObjectiveSpec("aap"), ObjectiveSpec("mip"), ObjectiveSpec("map")), "epochs": 10, "lr": 3e-3}
THROUGHPUT_FINETUNE: dict[str, Any] = {"lr": 3e-3, "stopping": "released"}


def throughput(spec: RunSpec) -> RunSpec:
    """``spec`` with the throughput preset's pre-training and fine-tuning fields (stages it lacks stay absent)."""
    pretrain = spec.pretrain and dataclasses.replace(spec.pretrain, **THROUGHPUT_PRETRAIN)
    finetune = spec.finetune and dataclasses.replace(spec.finetune, **THROUGHPUT_FINETUNE)
    return dataclasses.replace(spec, pretrain=pretrain, finetune=finetune)


PRESETS: dict[str, Callable[[RunSpec], RunSpec]] = {"throughput": throughput}
