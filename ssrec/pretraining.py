"""Self-supervised pre-training of a composition (``ssrec.compose``) over the released samples.

As released: every prefix of each user's last ``max_len`` training items is a sample, rebuilt each
epoch (``ssrec.pretrain_data``); Adam (lr 1e-3), batch 100, dropout on; the loss is the weighted sum of
the objectives' (summed) losses. All corruption runs on the batch's device from one seeded generator.
Batches are length-bucketed by default (the same samples per epoch, far less padding);
``bucketing=False`` gives the release's plain random batches.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from ssrec.batching import POOL_BATCHES, bucketed_batches
from ssrec.checkpoint import save_checkpoint
from ssrec.composition import PretrainModel
from ssrec.optim import adam
from ssrec.plugins import notify_epoch_end
from ssrec.pretrain_data import PretrainData
from ssrec.resume import restore, save_training_state

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


@dataclass
class PretrainResult:
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


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
    return {"pretrain": kept, "run": dict(checkpoint_extra or {})}


def pretrain(model: PretrainModel, data: PretrainData, config: PretrainConfig, *, out: Path | None = None,
             checkpoint_extra: dict[str, Any] | None = None,
             on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
             resume_from: dict[str, Any] | None = None) -> PretrainResult:
    """Pre-train ``model`` on ``data`` for ``config.epochs`` epochs.

    With ``out``, writes ``out/pretrained-epoch-K.pt`` every ``checkpoint_every`` epochs and
    ``out/pretrained.pt`` at the end (atomically; ``checkpoint_extra`` is stored in each), and the training
    state ``out/pretrain-state.pt`` after every epoch (``ssrec.resume``). ``resume_from``, a state read by
    ``ssrec.resume.load_training_state(out, "pretrain", resume_identity(config, checkpoint_extra))``,
    continues after its epoch with its weights, optimizer and random states. A loss that is not finite
    stops the run with a ``FloatingPointError`` naming the epoch and step, keeping the checkpoints and
    state already written.
    """
    device = torch.device(config.device)
    model.to(device)
    data.to(device)
    optimizer = adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, device=device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    shuffle_generator = torch.Generator().manual_seed(config.seed)
    lengths = data.lengths.cpu()
    pool = POOL_BATCHES if config.bucketing else 1
    generators = {"corruption": generator, "shuffle": shuffle_generator}
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    extra = dict(checkpoint_extra or {})
    epoch = 0
    if resume_from is not None:
        restore(resume_from, model, optimizer, generators)
        epoch, history = resume_from["epoch"], list(resume_from["bookkeeping"]["history"])
        if epoch > config.epochs:
            raise ValueError(f"cannot resume: the run already pre-trained {epoch} epochs, more than the "
                             f"{config.epochs} asked for")
        log.info("resuming pre-training after epoch %d of %d", epoch, config.epochs)
    for epoch in range(epoch + 1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        sums: dict[str, torch.Tensor] = {}
        batches = bucketed_batches(lengths, config.batch_size, shuffle_generator, pool)
        for step, samples in enumerate(batches):
            batch = data.batch(samples.to(device))
            total, parts = model(batch, data, generator)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            for name, value in (("loss", total), *parts.items()):
                sums[name] = sums.get(name, 0.0) + value.detach()
            if step % 200 == 0 and not math.isfinite(float(total.detach())):
                raise FloatingPointError(f"pre-training loss is {float(total.detach())} at epoch {epoch}, step {step}; "
                                         f"stopping (checkpoints written so far are kept)")
        logs = {"epoch": epoch, **{k: float(v) / len(batches) for k, v in sums.items()},
                "seconds": time.perf_counter() - t0}
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(f"pre-training loss is {logs['loss']} in epoch {epoch}; stopping "
                                     "(checkpoints written so far are kept)")
        history.append(logs)
        notify_epoch_end("pretrain", epoch, logs)
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)
        log.info("pretrain epoch %3d/%d  loss %.2f  (%s)  %.1fs", epoch, config.epochs, logs["loss"],
                 "  ".join(f"{k} {logs[k]:.2f}" for k in model.objectives), logs["seconds"])
        if out is not None and config.checkpoint_every and epoch % config.checkpoint_every == 0 and epoch < config.epochs:
            save_checkpoint(out / f"pretrained-epoch-{epoch}.pt", model.encoder, kind="pretrained",
                            **pretrained_payload(model, config, epoch, extra))
        if out is not None:
            save_training_state(out, "pretrain", epoch=epoch, identity=resume_identity(config, checkpoint_extra),
                                model=model, optimizer=optimizer, generators=generators, history=history)
    if out is not None:
        save_checkpoint(out / "pretrained.pt", model.encoder, kind="pretrained",
                        **pretrained_payload(model, config, epoch, extra))
    model.eval()
    return PretrainResult(epoch, time.perf_counter() - start, history)
