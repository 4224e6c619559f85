"""Next-item fine-tuning with early stopping; the test set is evaluated once, with the best weights.

As released: one left-padded training sequence per user, every position predicts the next item, Adam
(lr 1e-3), batch 256, early stopping on the validation metric (MRR for the sampled protocol, NDCG@20 for
full ranking). Without a pre-trained initialisation this is SASRec. Two defaults differ from the release,
both measured (README, "Defaults"): batches are length-bucketed with the loss weighted per token
(``token_weighted``; ``bucketing=False`` gives the release's random batches), and early stopping outlasts
plateaus (``ssrec.training.stopping``; ``stopping="released"`` gives patience 10 from the last best).

A backbone without per-position output (Caser) sees the same targets one prefix at a time: every
training position t of every user is an example, the prefix ending at t predicting item t + 1, batched
by prefix length (as Caser and RecBole train it).
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ssrec import distributed
from ssrec.contracts import (
    CAUSAL,
    PER_POSITION,
    USERS,
    Encoder,
    LossContext,
    NextItemLoss,
    require_capabilities,
    sequence_summary,
    user_inputs,
)
from ssrec.data.batching import trim_leading_padding
from ssrec.data.sampling import UserItemIndex
from ssrec.data.split import LeaveOneOut
from ssrec.evaluation.protocol import VALID_METRIC, ProtocolName, RankingProtocol
from ssrec.evaluation.ranking import encoder_scorer, evaluate
from ssrec.plugins import create_loss
from ssrec.progress import progress
from ssrec.serving.vocabulary import Vocabulary
from ssrec.training.loop import EpochCallback, LoopPlumbing
from ssrec.training.optim import adam
from ssrec.training.precision import autocast, check_precision
from ssrec.training.stopping import EarlyStopping, stopping_rule

log = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """Fine-tuning settings; the defaults are the released ones."""

    loss: str = "bce"  # a registered loss (ssrec.list_losses()): bce (released), ce, bpr, sampled-softmax, gbce
    loss_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"num_negatives": 128}
    epochs: int = 200
    stopping: str = "ssrec"  # a rule of ssrec.training.stopping.RULES: "ssrec" (default) or "released"
    patience: int | None = None  # None: the rule's own
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    protocol: ProtocolName = "sampled"
    valid_metric: str | None = None  # None: MRR (sampled) or NDCG@20 (full)
    seed: int = 42
    device: str = "cpu"
    bucketing: bool = True  # length-bucketed, token-weighted batches (False: plain random batches, as released)
    precision: str = "fp32"  # or "bf16": autocast of the training forward passes; evaluation stays fp32

    def metric(self) -> str:
        return self.valid_metric or VALID_METRIC[self.protocol]

    def stopping_rule(self) -> EarlyStopping:
        return stopping_rule(self.stopping, self.patience)


@dataclass
class FinetuneResult:
    best_epoch: int
    epochs_run: int
    valid_metrics: dict[str, float]
    test_metrics: dict[str, float]
    seconds: float  # this call's time (a resumed run's earlier epochs: their ``history`` "seconds")
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_after: int = 0  # the epoch this call continued after (0: it started the run)


def resume_identity(config: FinetuneConfig, run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings a resumed fine-tuning must share with the run it continues (all but ``epochs``)."""
    return {"finetune": {k: v for k, v in vars(config).items() if k != "epochs"}, "run": dict(run or {})}


def finetune(encoder: Encoder, split: LeaveOneOut, config: FinetuneConfig,
             negatives: torch.Tensor | None = None,
             on_epoch_end: EpochCallback | None = None, *,
             out: Path | None = None, run_identity: dict[str, Any] | None = None,
             resume_from: dict[str, Any] | None = None,
             checkpoint_extra: dict[str, Any] | None = None, test: bool = True) -> FinetuneResult:
    """Train ``encoder`` for next-item prediction on ``split``; leave it holding the best validation weights.

    ``on_epoch_end(epoch, logs)`` is called after every epoch with its loss, timing and validation metrics.
    With ``out``, the training state (weights, optimizer, random states, early-stopping state) is written
    to ``out/finetune-state.pt`` after every epoch, and the best weights to ``out/model.pt`` at the end
    (with ``checkpoint_extra`` entries); ``resume_from``, such a state read by
    ``ssrec.training.resume.load_training_state(out, "finetune", resume_identity(config, run_identity))``,
    continues after its epoch exactly as the interrupted run would have.

    ``negatives`` (U, 99) are required for the sampled protocol (refused before the first epoch without
    them). Returns the test metrics of the best validation epoch, evaluated once (``test=False``: not at
    all, for a search that must select on validation alone).
    """
    require_capabilities(encoder, {CAUSAL}, "next-item fine-tuning")
    check_precision(config.precision)
    rule = config.stopping_rule()
    protocol = RankingProtocol.named(config.protocol, negatives, config.valid_metric)
    device = torch.device(config.device)
    encoder.to(device)
    loss_fn = build_loss(config, split, device)
    optimizer = adam(encoder.parameters(), lr=config.lr, weight_decay=config.weight_decay, device=device)
    loop = LoopPlumbing("finetune", seed=config.seed, device=device, step_stream="negatives", out=out,
                        identity=resume_identity(config, run_identity))
    inputs, targets = split.train_inputs.to(device), split.train_targets.to(device)
    per_position = PER_POSITION in encoder.capabilities
    step_loss = distributed.wrap(FinetuneStep(encoder, loss_fn), device)
    if per_position:  # one example per user, every position a target
        lengths = (split.train_targets > 0).sum(dim=1)  # (U,) target positions per user
        examples = (lengths > 0).nonzero()[:, 0]  # (E,) user rows
        lengths = lengths[examples]
    else:  # one example per (user, target position): the prefix ending there
        examples = (split.train_targets > 0).nonzero()  # (E, 2) user row, position
        lengths = (split.train_inputs[examples[:, 0]] != 0).cumsum(1).gather(1, examples[:, 1:])[:, 0]  # prefix lengths
    targets_total = float((split.train_targets > 0).sum())  # every example of either kind has its target(s) there
    metric = protocol.valid_metric
    best, best_epoch, best_state, best_valid = float("-inf"), 0, copy.deepcopy(encoder.state_dict()), {}
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    epoch, stopped = 0, False
    resumed_after = 0
    if resume_from is not None:
        epoch = resumed_after = loop.resume(resume_from, encoder, optimizer)
        kept = resume_from["bookkeeping"]
        stopped, history = kept["stopped"], list(kept["history"])
        best, best_epoch = kept["best"], kept["best_epoch"]
        best_state, best_valid = kept["best_state"], kept["best_valid"]
        log.info("resuming fine-tuning after epoch %d (best %s %.4f at epoch %d%s)", epoch, metric, best, best_epoch,
                 ", early-stopped" if stopped else "")
    while not stopped and epoch < config.epochs:
        epoch += 1
        t0 = time.perf_counter()
        encoder.train()
        total = torch.zeros(2, device=device)  # summed batch losses, batches
        batches = loop.batches(lengths, config.batch_size, config.bucketing)
        # bucketed: every target token weighs 1 / (mean tokens of a batch), whatever batch it lands in
        mean_tokens = targets_total / (len(batches) * distributed.world_size()) if config.bucketing else None
        for rows in progress(batches, len(batches), f"finetune epoch {epoch}/{config.epochs}"):
            if per_position:
                users = examples[rows].to(device)
                x, y = trim_leading_padding(inputs[users], targets[users])
            else:
                users, x, y = _prefix_batch(inputs, targets, examples[rows].to(device))
            with autocast(device, config.precision):
                loss = token_weighted(step_loss(x, y, users, loop.generator), y, mean_tokens)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += torch.stack([loss.detach(), torch.ones((), device=device)])
        train_seconds = time.perf_counter() - t0
        loss_sum, batch_count = distributed.all_reduce_sum(total).tolist()  # over every process's batches
        mean_loss = loss_sum / max(batch_count, 1)
        loop.check_finite(mean_loss, f"in epoch {epoch}", f"the training state of epoch {epoch - 1} is kept")
        encoder.eval()
        valid = evaluate(encoder_scorer(encoder), split, "valid", protocol, device=device)
        logs = {"epoch": epoch, "loss": mean_loss, "train_seconds": train_seconds,
                **{f"valid_{k}": v for k, v in valid.items()}, "seconds": time.perf_counter() - t0}
        history.append(logs)
        loop.end_epoch(epoch, logs, on_epoch_end)
        if valid[metric] > best:
            best, best_epoch, best_valid = valid[metric], epoch, valid
            best_state = copy.deepcopy(encoder.state_dict())
        log.info("epoch %3d/%d  loss %.4f  valid %s %.4f  (best %.4f @%d)  %.1fs", epoch, config.epochs,
                 mean_loss, metric, valid[metric], best, best_epoch, logs["seconds"])
        stopped = rule.should_stop([h[f"valid_{metric}"] for h in history])
        loop.save_state(epoch, encoder, optimizer, stopped=stopped, history=history, best=best, best_epoch=best_epoch,
                        best_state=best_state, best_valid=best_valid)
        if stopped:
            log.info("early stop (%s): %s has not improved since epoch %d", rule.describe(), metric, best_epoch)
    encoder.load_state_dict(best_state)
    encoder.eval()
    metrics = evaluate(encoder_scorer(encoder), split, "test", protocol, device=device) if test else {}
    vocabulary = Vocabulary.of(split.dataset, with_users=USERS in encoder.capabilities).to_record()
    loop.save_checkpoint("model.pt", encoder, "finetuned",
                         **{"metrics": metrics, "vocabulary": vocabulary, **(checkpoint_extra or {})})
    return FinetuneResult(best_epoch, epoch, best_valid, metrics, time.perf_counter() - start, history, resumed_after)


def token_weighted(loss: torch.Tensor, targets: torch.Tensor, mean_tokens: float | None) -> torch.Tensor:
    """A batch's mean loss over its target tokens, rescaled so that each token weighs ``1 / mean_tokens``.

    Every registered loss is a mean over the batch's targets (B, L) and Adam takes one step per batch, so in
    a length-bucketed batch of short histories each token would weigh many times more than in a batch of
    long ones, and training would favour short-history users. Weighted by its token count over the epoch's
    mean count per batch, the loss is the per-token sum over that constant: each token weighs what it weighs
    in random batches (the released ones), on average. ``mean_tokens=None`` keeps the plain mean (released).
    """
    if mean_tokens is None:
        return loss
    return loss * ((targets > 0).sum() / mean_tokens)


def build_loss(config: FinetuneConfig, split: LeaveOneOut, device: torch.device) -> NextItemLoss:
    """The registered loss ``config.loss`` with ``config.loss_options``, set up on ``split``'s training targets."""
    loss = create_loss(config.loss, **config.loss_options)
    counts = torch.bincount(split.train_targets.reshape(-1), minlength=split.dataset.num_items + 2)
    counts[0] = 0  # PAD marks "no target"
    loss.setup(LossContext(num_items=split.dataset.num_items, index=UserItemIndex(split.dataset, device),
                           item_counts=counts.to(device)))
    return loss


class FinetuneStep(nn.Module):
    """The fine-tuning loss of one batch as a module: what ``DistributedDataParallel`` wraps."""

    encoder: Encoder

    def __init__(self, encoder: Encoder, loss_fn: NextItemLoss) -> None:
        super().__init__()
        self.encoder, self.loss_fn = encoder, loss_fn
        self.per_position = PER_POSITION in encoder.capabilities

    def forward(self, x: torch.Tensor, y: torch.Tensor, users: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        """Loss of inputs ``x`` (B, L) against targets ``y`` (B, L), or (B, 1) for a summary-only backbone."""
        if self.per_position:
            hidden = self.encoder.encode(x, causal=True, **user_inputs(self.encoder, users))  # (B, L, H)
        else:
            hidden = sequence_summary(self.encoder, x, causal=True, users=users)[:, None, :]  # (B, 1, H)
        return self.loss_fn(hidden, y, users, self.encoder.item_embeddings.weight, generator)


def _prefix_batch(inputs: torch.Tensor, targets: torch.Tensor,
                  examples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Users (B,), left-padded prefixes (B, L') ending at each example's position, and their targets (B, 1).

    ``examples`` (B, 2) are (user row, position) pairs into ``inputs``/``targets`` (U, L).
    """
    users, position = examples[:, 0], examples[:, 1]
    L = inputs.shape[1]
    columns = position[:, None] - (L - 1) + torch.arange(L, device=inputs.device)[None, :]  # (B, L)
    prefix = torch.where(columns >= 0, inputs[users].gather(1, columns.clamp(min=0)), 0)  # right-aligned at t
    (prefix,) = trim_leading_padding(prefix)
    return users, prefix, targets[users, position][:, None]
