"""Self-supervised pre-training of a composition (``ssrec.compose``) over the released samples.

As released: every prefix of each user's last ``max_len`` training items is a sample, rebuilt each
epoch (``ssrec.data.pretrain_data``); Adam (lr 1e-3), batch 100, dropout on; the loss is the weighted sum of
the objectives' (summed) losses. All corruption runs on the batch's device from one seeded generator.
Batches are length-bucketed by default (the same samples per epoch, far less padding);
``bucketing=False`` gives the release's plain random batches.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ssrec import distributed
from ssrec.data.pretrain_data import PretrainData
from ssrec.progress import progress
from ssrec.training.composition import PretrainModel
from ssrec.training.loop import LoopPlumbing
from ssrec.training.optim import adam
from ssrec.training.precision import autocast, check_precision

log = logging.getLogger(__name__)


@dataclass
class PretrainConfig:
    """Pre-training settings; the defaults are the released ones (except ``epochs``: the release ran 100-150)."""

    epochs: int = 100
    batch_size: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 42
    device: str = "cpu"
    bucketing: bool = True
    checkpoint_every: int = 10  # epochs between checkpoints in the run folder (0: only the final one)
    precision: str = "fp32"  # or "bf16": autocast of the training forward passes (ssrec.training.precision)


@dataclass
class PretrainResult:
    epochs_run: int  # the last epoch, counting those of an interrupted run this one resumed
    seconds: float  # this call's time
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_after: int = 0  # epochs an interrupted run had finished before this call continued it


def pretrained_payload(model: PretrainModel, config: PretrainConfig, epoch: int,
                       extra: dict[str, Any]) -> dict[str, Any]:
    """The extra checkpoint entries of a pre-trained encoder: objectives, weights, heads and settings."""
    heads = {k: v.detach().cpu() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    objectives = {name: {"weight": model.weights[name], "spec": dict(getattr(o, "spec", {}))}
                  for name, o in model.objectives.items()}
    return {"objectives": objectives, "heads": heads, "pretrain_epoch": epoch,
            "pretrain_config": vars(config).copy(), **extra}


def resume_identity(config: PretrainConfig, checkpoint_extra: dict[str, Any] | None) -> dict[str, Any]:
    """The settings a resumed pre-training must share with the run it continues (all but the epoch counts)."""
    kept = {k: v for k, v in vars(config).items() if k not in ("epochs", "checkpoint_every")}
    # "run_spec", the spec as given, may differ on resume (pretrain.epochs); what it sets is compared above
    return {"pretrain": kept, "run": {k: v for k, v in (checkpoint_extra or {}).items() if k != "run_spec"}}


def pretrain(model: PretrainModel, data: PretrainData, config: PretrainConfig, *, out: Path | None = None,
             checkpoint_extra: dict[str, Any] | None = None,
             on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
             resume_from: dict[str, Any] | None = None) -> PretrainResult:
    """Pre-train ``model`` on ``data`` for ``config.epochs`` epochs.

    With ``out``, writes ``out/pretrained-epoch-K.pt`` every ``checkpoint_every`` epochs and
    ``out/pretrained.pt`` at the end (atomically; ``checkpoint_extra`` is stored in each), and the training
    state ``out/pretrain-state.pt`` after every epoch (``ssrec.training.resume``). ``resume_from``, a state read by
    ``ssrec.training.resume.load_training_state(out, "pretrain", resume_identity(config, checkpoint_extra))``,
    continues after its epoch with its weights, optimizer and random states. A loss that is not finite
    stops the run with a ``FloatingPointError`` naming the epoch and step, keeping the checkpoints and
    state already written. Under ``torchrun`` the epoch is shared by the processes and only rank 0 writes
    (``ssrec.distributed``).
    """
    device = torch.device(config.device)
    check_precision(config.precision)
    model.to(device)
    data.to(device)
    optimizer = adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, device=device)
    loop = LoopPlumbing("pretrain", seed=config.seed, device=device, step_stream="corruption", out=out,
                        identity=resume_identity(config, checkpoint_extra))
    step_model = distributed.wrap(model, device)
    lengths = data.lengths.cpu()
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    extra = dict(checkpoint_extra or {})
    done = 0
    if resume_from is not None:
        done, history = loop.resume(resume_from, model, optimizer), list(resume_from["bookkeeping"]["history"])
        if done > config.epochs:
            raise ValueError(f"cannot resume: the run already pre-trained {done} epochs, more than the "
                             f"{config.epochs} asked for")
        log.info("resuming pre-training after epoch %d of %d", done, config.epochs)
    kept = "checkpoints written so far are kept"
    epoch = done
    for epoch in range(done + 1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        sums: dict[str, torch.Tensor] = {}
        batches = loop.batches(lengths, config.batch_size, config.bucketing)
        for step, samples in enumerate(progress(batches, len(batches), f"pretrain epoch {epoch}/{config.epochs}")):
            batch = data.batch(samples.to(device))
            with autocast(device, config.precision):
                total, parts = step_model(batch, data, loop.generator)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            for name, value in (("loss", total), *parts.items()):
                sums[name] = sums.get(name, 0.0) + value.detach()
            if step % 200 == 0:
                loop.check_finite(float(distributed.all_reduce_sum(total.detach())), f"at epoch {epoch}, step {step}",
                                  kept)
        names = list(sums)  # the epoch means over every process's batches
        means = distributed.all_reduce_sum(torch.stack([*(sums[n] for n in names),
                                                        torch.tensor(float(len(batches)), device=device)]))
        logs = {"epoch": epoch, **{n: float(v) / float(means[-1]) for n, v in zip(names, means)},
                "seconds": time.perf_counter() - t0}
        loop.check_finite(logs["loss"], f"in epoch {epoch}", kept)
        history.append(logs)
        loop.end_epoch(epoch, logs, on_epoch_end)
        log.info("pretrain epoch %3d/%d  loss %.2f  (%s)  %.1fs", epoch, config.epochs, logs["loss"],
                 "  ".join(f"{k} {logs[k]:.2f}" for k in model.objectives), logs["seconds"])
        if config.checkpoint_every and epoch % config.checkpoint_every == 0 and epoch < config.epochs:
            loop.save_checkpoint(f"pretrained-epoch-{epoch}.pt", model.encoder, "pretrained",
                                 **pretrained_payload(model, config, epoch, extra))
        loop.save_state(epoch, model, optimizer, history=history)
    loop.save_checkpoint("pretrained.pt", model.encoder, "pretrained",
                         **pretrained_payload(model, config, epoch, extra))
    model.eval()
    return PretrainResult(epoch, time.perf_counter() - start, history, done)
