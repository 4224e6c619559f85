"""Carry out a run spec: pre-train, fine-tune, evaluate a checkpoint, or both stages, into a run folder.

    from ssrec.runs import execute, spec as s
    spec = s.RunSpec(data=s.DataSpec("Beauty.txt"), finetune=s.FinetuneSpec(loss="ce"), protocol=s.ProtocolSpec("full"))
    outcome = execute.finetune_run(spec, Path("runs/beauty-ce"))
    print(outcome.result.test_metrics["NDCG@10"])

Everything a spec can get wrong is refused before the run folder is touched: the spec's own fields when
it is built, then the data file, the composition (backbone, objectives, loss), the device and the folder.
Each function writes what the command of the same name writes (``ssrec.runs.folder``) and returns the
records it wrote, so a benchmark or a tuner drives ssrec exactly as the command line does.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import ssrec
from ssrec import distributed
from ssrec.contracts import USERS, Encoder
from ssrec.data import SequenceDataset, load_dataset, make_synthetic, read_negatives, write_negatives
from ssrec.data.sampling import UserItemIndex, sample_distinct_negatives
from ssrec.data.split import LeaveOneOut, Split, leave_one_out
from ssrec.evaluation.baselines import popularity_scorer
from ssrec.evaluation.protocol import RankingProtocol
from ssrec.evaluation.ranking import encoder_scorer, evaluate
from ssrec.io.checkpoint import CheckpointError, load_checkpoint, rebuild_backbone
from ssrec.io.transfer import transfer_weights
from ssrec.plugins import create_backbone_for, create_loss, create_objective
from ssrec.runs.config_file import write_config
from ssrec.runs.folder import Reuse, check_folder, config_name, epoch_log, owned, write_json
from ssrec.runs.spec import DataSpec, ProtocolSpec, RunSpec, spec_to_dict
from ssrec.serving.vocabulary import Vocabulary
from ssrec.training.composition import compose
from ssrec.training.finetuning import FinetuneConfig, FinetuneResult, finetune
from ssrec.training.finetuning import resume_identity as finetune_identity
from ssrec.training.loop import EpochCallback
from ssrec.training.pretraining import PretrainConfig, PretrainResult, pretrain
from ssrec.training.pretraining import resume_identity as pretrain_identity
from ssrec.training.resume import load_training_state, state_path

log = logging.getLogger("ssrec")
NEGATIVES_PER_USER = 99


# ----------------------------------------------------------------------------------------- building blocks

def resolve_device(name: str) -> str:
    """``auto`` as cuda where available, else cpu; a device this machine lacks is refused with a sentence."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: this machine has no CUDA device (torch {torch.__version__}); "
                             "pass --device cpu or auto")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps': this machine has no Apple GPU; pass --device cpu or auto")
    return name


def load_data(data: DataSpec, seed: int) -> SequenceDataset:
    """The spec's data set; with no path, the embedded synthetic one generated with ``seed``."""
    if data.path is None:
        dataset = make_synthetic(seed=seed)
        log.info("no data file: using the embedded synthetic data set (%s)", dataset.describe())
        return dataset
    fields = list(data.attribute_fields) if data.attribute_fields else None
    dataset = load_dataset(data.path, data.attributes, attribute_fields=fields)
    log.info("%s", dataset.describe())
    return dataset


def build_backbone(spec: RunSpec, dataset: SequenceDataset) -> Encoder:
    """The spec's backbone for ``dataset``, initialised under the spec's seed."""
    torch.manual_seed(spec.seed)
    return create_backbone_for(spec.backbone.name, num_items=dataset.num_items, num_users=dataset.num_users,
                               max_len=spec.data.max_len, **spec.backbone.options)


def protocol_for(protocol: ProtocolSpec, seed: int, dataset: SequenceDataset,
                 save_to: Path | None = None) -> tuple[RankingProtocol, str]:
    """The protocol value and where its negatives came from (a file, or generated with ``seed`` and saved)."""
    if protocol.name == "full":
        return RankingProtocol.named("full", valid_metric=protocol.valid_metric), "none"
    if protocol.negatives:
        negatives = read_negatives(protocol.negatives, dataset, count=NEGATIVES_PER_USER)
        source = str(protocol.negatives)
    else:
        negatives = sample_distinct_negatives(UserItemIndex(dataset), NEGATIVES_PER_USER, seed=seed)
        source = f"generated(seed={seed}, count={NEGATIVES_PER_USER})"
        if save_to is not None and distributed.is_main():
            write_negatives(save_to / "negatives.txt", dataset, negatives)
            source += f", saved to {save_to / 'negatives.txt'}"
    log.info("sampled protocol: %s", source)
    return RankingProtocol.named("sampled", torch.from_numpy(negatives), protocol.valid_metric), source


def _stage_start(spec: RunSpec, dataset: SequenceDataset | None) -> tuple[str, SequenceDataset, Encoder]:
    """What every stage checks and builds first: the device, the data set (unless given), the backbone."""
    device = resolve_device(spec.device)
    dataset = dataset or load_data(spec.data, spec.seed)
    return device, dataset, build_backbone(spec, dataset)


def _dataset_record(dataset: SequenceDataset) -> dict[str, Any]:
    return {"name": dataset.name, "num_items": dataset.num_items, "num_users": dataset.num_users}


def _settings(spec: RunSpec, encoder: Encoder) -> dict[str, Any]:
    """The run's data and backbone as its records (pretrain.json, metrics.json) and checkpoints name them."""
    fields = ",".join(spec.data.attribute_fields) if spec.data.attribute_fields else None
    return {"data": spec.data.path or "synthetic", "attributes": spec.data.attributes, "attribute_fields": fields,
            "backbone": {"name": spec.backbone.name, "spec": dict(encoder.spec)}, "max_len": spec.data.max_len}


def _prepare(spec: RunSpec, out: Path, stage: str, reuse: Reuse, command: str | None) -> None:
    """Check the run folder (owned by this run, see ``owned``); write the spec into it as ``command``'s config
    (None: leave it)."""
    check_folder(out, stage, reuse)
    if command is not None and distributed.is_main() and reuse is not Reuse.RESUME:
        write_config(out / config_name(command), spec, command)


def _saved_state(out: Path, stage: str, reuse: Reuse, identity: dict[str, Any]) -> dict[str, Any] | None:
    """With ``Reuse.RESUME``, the stage's training state in ``out`` (checked against ``identity``), else None."""
    if reuse is not Reuse.RESUME:
        return None
    if not state_path(out, stage).is_file():
        log.warning("--resume: %s has no %s state yet; the %s starts from its first epoch", out, stage, stage)
        return None
    return load_training_state(out, stage, identity)


# ----------------------------------------------------------------------------------------- stages

@dataclass
class PretrainOutcome:
    result: PretrainResult
    record: dict[str, Any]  # what pretrain.json holds
    checkpoint: Path


def pretrain_run(spec: RunSpec, out: Path, reuse: Reuse = Reuse.REFUSE, *, command: str = "pretrain",
                 dataset: SequenceDataset | None = None) -> PretrainOutcome:
    """Compose the backbone with the spec's objectives, pre-train; writes pretrained.pt (+ every k epochs),
    pretrain.json, the training state and the log into ``out``."""
    from ssrec.data.pretrain_data import pretrain_samples

    stage = spec.pretrain
    if stage is None:
        raise ValueError("the run spec has no pretrain stage")
    device, dataset, encoder = _stage_start(spec, dataset)
    objectives = [create_objective(o.name, **o.options) for o in stage.objectives]
    weights = {o.name: o.weight for o in stage.objectives if o.weight is not None}
    model = compose(encoder, objectives, dataset, weights=weights)  # an impossible composition fails here
    check_folder(out, "pretrain", reuse)  # before the folder is made: a refused run leaves nothing
    with owned(out):
        _prepare(spec, out, "pretrain", reuse, command)
        data = pretrain_samples(dataset, spec.data.max_len)
        config = PretrainConfig(epochs=stage.epochs, batch_size=stage.batch_size, lr=stage.lr,
                                weight_decay=stage.weight_decay, seed=spec.seed, device=device,
                                bucketing=stage.bucketing, checkpoint_every=stage.checkpoint_every,
                                precision=stage.precision)
        log.info("pre-training %s with %s on %s: %d samples per epoch, %d epochs, device %s", spec.backbone.name,
                 ", ".join(f"{n} x{w:g}" for n, w in model.weights.items()), dataset.name, data.num_samples,
                 stage.epochs, device)
        objective_records = {o.name: {"weight": model.weights[o.name], "options": o.options}
                             for o in stage.objectives}
        settings = {**_settings(spec, encoder), "objectives": objective_records}
        vocabulary = Vocabulary.of(dataset, with_users=USERS in encoder.capabilities).to_record()
        extra = {"config": settings, "dataset": _dataset_record(dataset), "run_spec": spec_to_dict(spec),
                 "vocabulary": vocabulary}
        state = _saved_state(out, "pretrain", reuse, pretrain_identity(config, extra))
        result = pretrain(model, data, config, out=out, checkpoint_extra=extra, resume_from=state,
                          on_epoch_end=epoch_log(out, "pretrain", state["epoch"] if state else 0))
        record = {"dataset": dataset.name, "seed": spec.seed, "samples_per_epoch": data.num_samples,
                  "config": {**settings, "pretrain": dataclasses.asdict(config)}, "epochs_run": result.epochs_run,
                  "resumed_after": result.resumed_after,
                  "seconds": round(result.seconds, 2), "history": result.history, "ssrec_version": ssrec.__version__}
        write_json(out / "pretrain.json", record)
        log.info("pre-trained %d epochs in %.1fs (%.1fs per epoch); wrote %s", result.epochs_run, result.seconds,
                 result.seconds / max(result.epochs_run, 1), out / "pretrained.pt")
        return PretrainOutcome(result, record, out / "pretrained.pt")


@dataclass
class FinetuneOutcome:
    result: FinetuneResult
    record: dict[str, Any]  # what metrics.json holds
    split: LeaveOneOut
    encoder: Encoder  # on CPU, best weights, eval mode
    protocol: RankingProtocol


def finetune_run(spec: RunSpec, out: Path, reuse: Reuse = Reuse.REFUSE, *, command: str | None = "finetune",
                 dataset: SequenceDataset | None = None, on_epoch_end: EpochCallback | None = None,
                 test: bool = True) -> FinetuneOutcome:
    """Build the backbone, load ``finetune.init`` if set, fine-tune; writes model.pt, metrics.json, the training
    state and the log into ``out``. ``on_epoch_end(epoch, logs)`` follows every epoch (after the log line);
    ``test=False`` leaves the test split alone (a search selecting on validation)."""
    stage = spec.finetune
    if stage is None:
        raise ValueError("the run spec has no finetune stage")
    device, dataset, encoder = _stage_start(spec, dataset)
    create_loss(stage.loss, **stage.loss_options)  # an unknown loss or option is refused before any file is written
    init_report = None
    if stage.init:  # before the run folder is made: a checkpoint that does not fit leaves nothing behind
        report = transfer_weights(encoder, load_checkpoint(stage.init))
        init_report = {"checkpoint": str(stage.init), **report.as_dict()}
        log.info("--init %s: %s", stage.init, report.summary())
    check_folder(out, "finetune", reuse)  # before the folder is made: a refused run leaves nothing
    with owned(out):
        _prepare(spec, out, "finetune", reuse, command)
        split = leave_one_out(dataset, spec.data.max_len)
        protocol, negatives_source = protocol_for(spec.protocol, spec.seed, dataset, save_to=out)
        config = FinetuneConfig(loss=stage.loss, loss_options=dict(stage.loss_options), epochs=stage.epochs,
                                stopping=stage.stopping, patience=stage.patience, batch_size=stage.batch_size,
                                lr=stage.lr, weight_decay=stage.weight_decay, protocol=protocol.name,
                                valid_metric=spec.protocol.valid_metric, seed=spec.seed, device=device,
                                bucketing=stage.bucketing, precision=stage.precision)
        log.info("fine-tuning %s on %s (%s protocol, %s loss, device %s)", spec.backbone.name, dataset.name,
                 protocol.name, stage.loss, device)
        run_identity = {**_settings(spec, encoder), "negatives": negatives_source, "init": stage.init}
        state = _saved_state(out, "finetune", reuse, finetune_identity(config, run_identity))
        full_config = {**run_identity, "finetune": dataclasses.asdict(config), "init": init_report}
        extra = {"config": full_config, "dataset": _dataset_record(dataset), "run_spec": spec_to_dict(spec)}
        log_epoch = epoch_log(out, "finetune", state["epoch"] if state else 0,
                              selected_by=f"valid_{protocol.valid_metric}")

        callbacks = [c for c in (log_epoch, on_epoch_end) if c is not None]  # no log writer off rank 0

        def after_epoch(epoch: int, logs: dict[str, float]) -> None:
            for callback in callbacks:
                callback(epoch, logs)

        result = finetune(encoder, split, config, protocol.negatives, out=out, run_identity=run_identity,
                          resume_from=state, checkpoint_extra=extra, on_epoch_end=after_epoch, test=test)
        record = {"protocol": protocol.name, "split": "test", "dataset": dataset.name, "seed": spec.seed,
                  "config": full_config, "metrics": result.test_metrics, "valid_metrics": result.valid_metrics,
                  "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "seconds": round(result.seconds, 2),
                  "resumed_after": result.resumed_after, "history": result.history, "ssrec_version": ssrec.__version__}
        write_json(out / "metrics.json", record)
        log.info("best epoch %d of %d (%.1fs); wrote %s and %s", result.best_epoch, result.epochs_run, result.seconds,
                 out / "model.pt", out / "metrics.json")
        encoder.to("cpu")
        encoder.eval()
        return FinetuneOutcome(result, record, split, encoder, protocol)


def evaluate_checkpoint(checkpoint: str | Path, spec: RunSpec, split: Split = "test",
                        attention: str | None = None) -> dict[str, Any]:
    """Rebuild a checkpoint's model from the file alone and evaluate it on the spec's data and protocol."""
    payload = load_checkpoint(checkpoint)
    device = resolve_device(spec.device)
    dataset = load_data(spec.data, spec.seed)
    trained_on = payload.get("dataset", {}).get("num_items")
    if trained_on is None:  # a checkpoint saved from Python without its data set: the item table tells
        trained_on = payload["backbone"]["spec"].get("num_items")
    if trained_on is not None and trained_on != dataset.num_items:
        raise CheckpointError(f"{checkpoint}: the model was trained on {trained_on} items, "
                              f"{spec.data.path} has {dataset.num_items}")
    encoder = rebuild_backbone(payload).to(device).eval()
    if attention:
        if not hasattr(encoder, "set_attention"):
            raise ValueError(f"--attention {attention}: backbone {payload['backbone']['name']!r} has no "
                             "attention to switch")
        encoder.set_attention(attention)
    loo = leave_one_out(dataset, payload["backbone"]["spec"].get("max_len", spec.data.max_len))
    protocol, source = protocol_for(spec.protocol, spec.seed, dataset)
    metrics = evaluate(encoder_scorer(encoder), loo, split, protocol, device=device)
    return {"protocol": protocol.name, "split": split, "dataset": dataset.name, "seed": spec.seed,
            "config": {"checkpoint": str(checkpoint), "data": str(spec.data.path), "negatives": source,
                       "backbone": payload["backbone"]}, "metrics": metrics}


@dataclass
class RunOutcome:
    finetune: FinetuneOutcome
    pretrain: PretrainOutcome | None
    rows: list[tuple[str, str, dict[str, float]]]  # (model, protocol, test metrics), popularity beside the model
    dataset: SequenceDataset


def run(spec: RunSpec, out: Path, reuse: Reuse = Reuse.REFUSE) -> RunOutcome:
    """Pre-train (when the spec has that stage), fine-tune from it, and test under both protocols beside a
    popularity baseline."""
    if spec.finetune is None:
        raise ValueError("ssrec run needs a finetune stage")
    dataset = load_data(spec.data, spec.seed)
    label = f"{spec.backbone.name} (fine-tuned)"
    pretrained = None
    check_folder(out, "finetune", reuse)  # before pre-training: a finished run is refused at once
    with owned(out):  # both stages
        if spec.pretrain is not None:
            pretrained = pretrain_run(spec, out, reuse, command="run", dataset=dataset)
            distributed.barrier()  # rank 0 has written pretrained.pt before any process reads it
            label = f"{spec.backbone.name} ({','.join(o.name for o in spec.pretrain.objectives)})"
            spec = dataclasses.replace(spec, pretrain=None,
                                       finetune=dataclasses.replace(spec.finetune, init=str(pretrained.checkpoint)))
        tuned = finetune_run(spec, out, reuse, command=None if pretrained else "run", dataset=dataset)
    # the sampled row uses the run's own negatives (its file, or those its seed generates)
    sampled, _ = protocol_for(spec.protocol if spec.protocol.name == "sampled" else ProtocolSpec("sampled"),
                              spec.seed, dataset)
    scorers = (("popularity", popularity_scorer(tuned.split)), (label, encoder_scorer(tuned.encoder)))
    rows = [(model, str(protocol.name), evaluate(scorer, tuned.split, "test", protocol))
            for protocol in (RankingProtocol.named("full"), sampled) for model, scorer in scorers]
    return RunOutcome(tuned, pretrained, rows, dataset)
