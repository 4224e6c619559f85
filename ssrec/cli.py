"""The ``ssrec`` command line: plugins, pretrain, finetune, evaluate, run, import-checkpoint."""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

import ssrec
from ssrec import progress
from ssrec import distributed
from ssrec.runs.config_file import ConfigError, apply_config, config_name, effective_config, write_config
from ssrec.io.checkpoint import CheckpointError, atomic_write, load_checkpoint, rebuild_backbone, save_checkpoint
from ssrec.data import DataFormatError, SequenceDataset, load_dataset, make_synthetic, read_negatives, write_negatives
from ssrec.data.split import LeaveOneOut, leave_one_out
from ssrec.evaluation.ranking import encoder_scorer, evaluate
from ssrec.training.finetuning import FinetuneConfig, FinetuneResult, finetune
from ssrec.training.finetuning import resume_identity as finetune_identity
from ssrec.nn.attention import IMPLEMENTATIONS
from ssrec.training.precision import PRECISIONS
from ssrec.extras import MissingExtra
from ssrec.runs.plot import plot_run
from ssrec.plugins import (PluginError, create_backbone_for, describe_plugins, failed_plugins,
                           format_plugins_table, list_losses)
from ssrec.training.resume import load_training_state, state_path
from ssrec.data.sampling import UserItemIndex, sample_distinct_negatives
from ssrec.io.transfer import transfer_weights

log = logging.getLogger("ssrec")
NEGATIVES_PER_USER = 99
RUN_PRETRAIN_EPOCHS = 5  # ssrec run: a short pre-training; ssrec pretrain defaults to the release's 100
TABLE_METRICS = ("HR@1", "HR@5", "HR@10", "HR@20", "NDCG@5", "NDCG@10", "NDCG@20", "MRR")


# ----------------------------------------------------------------------------------------------- helpers

def _literal(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _backbone_options(pairs: Sequence[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` pairs; values are Python literals (numbers, booleans, strings)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--backbone-option {pair!r}: expected KEY=VALUE, e.g. dropout=0.2")
        out[key] = _literal(value)
    return out


def _objective_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--objectives {text!r}: expected comma-separated names, e.g. aap,mip,map,sp")
    return names


def _objective_weights(names: list[str], text: str | None) -> dict[str, float]:
    """``--weights 0.2,1,1,0.5``, one number per objective in the same order (None: each objective's default)."""
    if text is None:
        return {}
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != len(names):
        raise ValueError(f"--weights {text!r}: {len(parts)} weights for {len(names)} objectives ({','.join(names)})")
    try:
        return {name: float(p) for name, p in zip(names, parts)}
    except ValueError:
        raise ValueError(f"--weights {text!r}: expected numbers, e.g. 0.2,1,1,0.5") from None


def _objective_options(pairs: Sequence[str], names: list[str]) -> dict[str, dict[str, Any]]:
    """``--objective-option mip.num_negatives=8`` pairs -> {objective: {option: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        objective, dot, option = key.partition(".")
        if not sep or not dot or not option:
            raise ValueError(f"--objective-option {pair!r}: expected OBJECTIVE.KEY=VALUE, e.g. mip.num_negatives=8")
        if objective not in names:
            raise ValueError(f"--objective-option {pair!r}: {objective!r} is not among the objectives {names}")
        out.setdefault(objective, {})[option] = _literal(value)
    return out


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _negatives(args: argparse.Namespace, dataset: SequenceDataset, out: Path | None) -> tuple[torch.Tensor | None, str]:
    """The sampled protocol's negatives: from --negatives, or generated with the seed (and saved to ``out``)."""
    if args.protocol != "sampled":
        return None, "none"
    if args.negatives:
        return torch.from_numpy(read_negatives(args.negatives, dataset, count=NEGATIVES_PER_USER)), str(args.negatives)
    negatives = sample_distinct_negatives(UserItemIndex(dataset), NEGATIVES_PER_USER, seed=args.seed)
    source = f"generated(seed={args.seed}, count={NEGATIVES_PER_USER})"
    if out is not None:
        write_negatives(out / "negatives.txt", dataset, negatives)
        source += f", saved to {out / 'negatives.txt'}"
    log.info("sampled protocol: %s", source)
    return torch.from_numpy(negatives), source


def _emit(text: str) -> None:
    """Print a command's result (rank 0 only under torchrun)."""
    if distributed.is_main():
        print(text)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a run's JSON record atomically (rank 0 only under torchrun)."""
    if not distributed.is_main():
        return
    text = json.dumps(payload, indent=2, sort_keys=False)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n"))


def format_table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    """A fixed-width table: one row per (model, protocol) with the standard metrics."""
    width = max([22, *(len(model) for model, _, _ in rows)])
    head = f"{'model':<{width}} {'protocol':<8} " + " ".join(f"{m:>8}" for m in TABLE_METRICS)
    lines = [head, "-" * len(head)]
    for model, protocol, metrics in rows:
        lines.append(f"{model:<{width}} {protocol:<8} "
                     + " ".join(f"{metrics.get(m, float('nan')):>8.4f}" for m in TABLE_METRICS))
    return "\n".join(lines)


def pretrain_summary(record: dict[str, Any], path: Path, backbone: str) -> str:
    """The end-of-pretraining table: each objective's weight and its loss in the first and last epoch."""
    first, last = record["history"][0], record["history"][-1]
    objectives = record["config"]["objectives"]
    lines = [f"{path}: {backbone} pre-trained {record['epochs_run']} epochs ({record['seconds']:.1f}s, "
             f"{record['samples_per_epoch']} samples per epoch)", "",
             f"{'objective':<14} {'weight':>7} {'first epoch':>12} {'last epoch':>12}", "-" * 48]
    for name in objectives:
        lines.append(f"{name:<14} {objectives[name]['weight']:>7g} {first[name]:>12.4g} {last[name]:>12.4g}")
    lines.append(f"{'weighted sum':<14} {'':>7} {first['loss']:>12.4g} {last['loss']:>12.4g}")
    return "\n".join(lines)


def _load_data(args: argparse.Namespace) -> SequenceDataset:
    fields = [f for f in args.attribute_fields.split(",") if f] if args.attribute_fields else None
    dataset = load_dataset(args.data, args.attributes, attribute_fields=fields)
    log.info("%s", dataset.describe())
    return dataset


def _epoch_log(out: Path, stage: str, resumed: dict[str, Any] | None, **fields: Any) -> EpochLog | None:
    """The run's log.jsonl writer for ``stage``, adding ``fields`` to every line (None on ranks other than 0)."""
    if not distributed.is_main():
        return None
    return EpochLog(out, stage, keep_through=resumed["epoch"] if resumed else 0, fields=fields)


class EpochLog:
    """Appends one JSON line per epoch to ``DIR/log.jsonl`` (``{"stage", "epoch", losses, metrics, seconds}``
    plus ``fields``, e.g. fine-tuning's ``selected_by``), so that a long run can be followed, or read after it
    was stopped.

    A new run drops the stage's old lines (the other stage's stay); a resumed one keeps them through the
    epoch it resumes after.
    """

    def __init__(self, out: Path, stage: str, keep_through: int = 0, fields: dict[str, Any] | None = None) -> None:
        self.path, self.stage, self.fields = out / "log.jsonl", stage, fields or {}
        if self.path.exists():
            kept = [line for line in self.path.read_text().splitlines(keepends=True)
                    if (entry := json.loads(line)).get("stage") != stage or entry["epoch"] <= keep_through]
            atomic_write(self.path, lambda tmp: Path(tmp).write_text("".join(kept)))

    def __call__(self, epoch: int, logs: dict[str, float]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"stage": self.stage, **logs, **self.fields, "epoch": epoch}) + "\n")


#: what each stage writes into a run folder (log.jsonl is shared: each stage keeps the other's lines)
STAGE_FILES = {"pretrain": ("pretrained.pt", "pretrain.json", "pretrain-state.pt", "pretrained-epoch-*.pt"),
               "finetune": ("model.pt", "metrics.json", "finetune-state.pt", "negatives.txt")}


def _prepare_out(args: argparse.Namespace, out: Path, stage: str) -> None:
    """Make the run folder; files of an earlier ``stage`` run are kept unless --overwrite (or continued with --resume)."""
    if args.resume:
        if args.overwrite:
            raise ValueError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
        if not out.is_dir():
            raise ValueError(f"--resume: {out} is not a run folder")
        return
    existing = sorted(p.name for pattern in STAGE_FILES[stage] for p in out.glob(pattern))
    if existing and not args.overwrite:
        raise FileExistsError(f"{out} already holds a {stage} run ({', '.join(existing)}); choose another --out, "
                              "pass --overwrite to replace it or --resume to continue it")
    out.mkdir(parents=True, exist_ok=True)
    if distributed.is_main():  # the effective options: `ssrec COMMAND --config` repeats the run from them
        write_config(out / config_name(args.command), args.effective)


def _resume_state(args: argparse.Namespace, out: Path, stage: str, identity: dict[str, Any]) -> dict[str, Any] | None:
    """With --resume, the stage's training state in ``out`` (checked against ``identity``), else None."""
    if not args.resume:
        return None
    if not state_path(out, stage).is_file():
        log.warning("--resume: %s has no %s state yet; the %s starts from its first epoch", out, stage, stage)
        return None
    return load_training_state(out, stage, identity)


def _build_backbone(args: argparse.Namespace, dataset: SequenceDataset) -> torch.nn.Module:
    """--backbone for ``dataset`` with --max-len and --backbone-option, initialised under --seed."""
    torch.manual_seed(args.seed)
    options = {"max_len": args.max_len, **_backbone_options(args.backbone_option)}
    return create_backbone_for(args.backbone, num_items=dataset.num_items, num_users=dataset.num_users, **options)


def _pretrain_run(args: argparse.Namespace, dataset: SequenceDataset, out: Path, *, epochs: int,
                  batch_size: int) -> dict[str, Any]:
    """Compose --backbone with --objectives, pre-train, write pretrained.pt (+ every k epochs) and pretrain.json."""
    from ssrec.training.composition import compose
    from ssrec.data.pretrain_data import pretrain_samples
    from ssrec.training.pretraining import PretrainConfig, pretrain
    from ssrec.training.pretraining import resume_identity as pretrain_identity

    names = _objective_list(args.objectives)
    weights = _objective_weights(names, args.weights)
    options = _objective_options(args.objective_option, names)
    encoder = _build_backbone(args, dataset)
    objectives = [ssrec.create_objective(name, **options.get(name, {})) for name in names]
    model = compose(encoder, objectives, dataset, weights=weights)  # an impossible composition fails here
    _prepare_out(args, out, "pretrain")
    data = pretrain_samples(dataset, args.max_len)
    config = PretrainConfig(epochs=epochs, batch_size=batch_size, lr=args.lr, seed=args.seed,
                            device=_device(args.device), bucketing=args.bucketing,
                            checkpoint_every=args.checkpoint_every, precision=args.precision)
    log.info("pre-training %s with %s on %s: %d samples per epoch, %d epochs, device %s", args.backbone,
             ", ".join(f"{n} x{w:g}" for n, w in model.weights.items()), dataset.name, data.num_samples, epochs,
             config.device)
    settings = {"data": str(args.data) if args.data else "synthetic", "attributes": args.attributes and str(args.attributes),
                "attribute_fields": args.attribute_fields,
                "backbone": {"name": args.backbone, "spec": dict(encoder.spec)}, "max_len": args.max_len,
                "objectives": {n: {"weight": model.weights[n], "options": options.get(n, {})} for n in names}}
    extra = {"config": settings, "dataset": {"name": dataset.name, "num_items": dataset.num_items,
                                             "num_users": dataset.num_users}}
    state = _resume_state(args, out, "pretrain", pretrain_identity(config, extra))
    result = pretrain(model, data, config, out=out, checkpoint_extra={**extra, "cli": args.effective},
                      resume_from=state,
                      on_epoch_end=_epoch_log(out, "pretrain", state))
    record = {"dataset": dataset.name, "seed": args.seed, "samples_per_epoch": data.num_samples,
              "config": {**settings, "pretrain": dataclasses.asdict(config)}, "epochs_run": result.epochs_run,
              "seconds": round(result.seconds, 2), "history": result.history, "ssrec_version": ssrec.__version__}
    _write_json(out / "pretrain.json", record)
    log.info("pre-trained %d epochs in %.1fs (%.1fs per epoch); wrote %s", result.epochs_run, result.seconds,
             result.seconds / max(result.epochs_run, 1), out / "pretrained.pt")
    return record


def _finetune_run(args: argparse.Namespace, dataset: SequenceDataset,
                  out: Path) -> tuple[FinetuneResult, dict[str, Any], LeaveOneOut, torch.nn.Module]:
    """Build the backbone, optionally load --init weights, fine-tune, save model.pt and metrics.json.

    Returns the result, the metrics.json record, the split and the encoder (on CPU, best weights, eval mode).
    """
    device = _device(args.device)
    encoder = _build_backbone(args, dataset)
    init_report = None
    if args.init:  # before the run folder is made: a checkpoint that does not fit leaves nothing behind
        payload = load_checkpoint(args.init)
        report = transfer_weights(encoder, payload)
        init_report = {"checkpoint": str(args.init), **report.as_dict()}
        log.info("--init %s: %s", args.init, report.summary())
    _prepare_out(args, out, "finetune")
    split = leave_one_out(dataset, args.max_len)
    negatives, negatives_source = _negatives(args, dataset, out if distributed.is_main() else None)
    config = FinetuneConfig(loss=args.loss, loss_options=_backbone_options(args.loss_option), epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                            lr=args.lr, protocol=args.protocol, seed=args.seed, device=device,
                            bucketing=args.bucketing, precision=args.precision)
    log.info("fine-tuning %s on %s (%s protocol, %s loss, device %s)", args.backbone, dataset.name,
             config.protocol, config.loss, device)
    run_identity = {"data": str(args.data), "attributes": args.attributes and str(args.attributes),
                    "attribute_fields": args.attribute_fields,
                    "backbone": {"name": args.backbone, "spec": dict(encoder.spec)}, "max_len": args.max_len,
                    "negatives": negatives_source, "init": args.init and str(args.init)}
    state = _resume_state(args, out, "finetune", finetune_identity(config, run_identity))
    result = finetune(encoder, split, config, negatives, out=out, run_identity=run_identity, resume_from=state,
                      on_epoch_end=_epoch_log(out, "finetune", state, selected_by=f"valid_{config.metric()}"))
    full_config = {**run_identity, "finetune": dataclasses.asdict(config), "init": init_report}
    record = {"protocol": config.protocol, "split": "test", "dataset": dataset.name, "seed": args.seed,
              "config": full_config, "metrics": result.test_metrics, "valid_metrics": result.valid_metrics,
              "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "seconds": round(result.seconds, 2),
              "history": result.history, "ssrec_version": ssrec.__version__}
    if distributed.is_main():
        save_checkpoint(out / "model.pt", encoder.cpu(), kind="finetuned", config=full_config, cli=args.effective,
                        dataset={"name": dataset.name, "num_items": dataset.num_items, "num_users": dataset.num_users},
                        metrics=result.test_metrics)
    _write_json(out / "metrics.json", record)
    log.info("best epoch %d of %d (%.1fs); wrote %s and %s", result.best_epoch, result.epochs_run, result.seconds,
             out / "model.pt", out / "metrics.json")
    return result, record, split, encoder.eval()


# ----------------------------------------------------------------------------------------------- commands

def cmd_plugins(args: argparse.Namespace) -> int:
    described = describe_plugins()
    if args.json:
        print(json.dumps(described, indent=2))
    else:
        print(format_plugins_table(described, failed_plugins()))
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    dataset = _load_data(args)
    record = _pretrain_run(args, dataset, Path(args.out), epochs=args.epochs, batch_size=args.batch_size)
    _emit(pretrain_summary(record, Path(args.out) / "pretrained.pt", args.backbone))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    dataset = _load_data(args)
    result, record, _, _ = _finetune_run(args, dataset, Path(args.out))
    _emit(format_table([(args.backbone, record["protocol"], result.test_metrics)]))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    payload = load_checkpoint(args.checkpoint)
    dataset = _load_data(args)
    trained_on = payload.get("dataset", {}).get("num_items")
    if trained_on is not None and trained_on != dataset.num_items:
        raise CheckpointError(f"{args.checkpoint}: the model was trained on {trained_on} items, "
                              f"{args.data} has {dataset.num_items}")
    encoder = rebuild_backbone(payload).to(_device(args.device)).eval()
    if args.attention:
        if not hasattr(encoder, "set_attention"):
            raise ValueError(f"--attention {args.attention}: backbone {payload['backbone']['name']!r} has no "
                             "attention to switch")
        encoder.set_attention(args.attention)
    max_len = payload["backbone"]["spec"].get("max_len", 50)
    split = leave_one_out(dataset, max_len)
    negatives, source = _negatives(args, dataset, None)
    metrics = evaluate(encoder_scorer(encoder), split, args.split, args.protocol, negatives, _device(args.device))
    record = {"protocol": args.protocol, "split": args.split, "dataset": dataset.name, "seed": args.seed,
              "config": {"checkpoint": str(args.checkpoint), "data": str(args.data), "negatives": source,
                         "backbone": payload["backbone"]}, "metrics": metrics}
    if args.json:
        _emit(json.dumps(record, indent=2))
    else:
        _emit(format_table([(payload["backbone"]["name"], args.protocol, metrics)]))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    print(plot_run(args.run, args.out))
    return 0


def cmd_import_checkpoint(args: argparse.Namespace) -> int:
    from ssrec.io.released_checkpoint import import_released_checkpoint

    summary = import_released_checkpoint(args.source, args.out, num_heads=args.num_heads)
    print(f"{args.out}: transformer over {summary['num_items']} items from {args.source} "
          f"({summary['encoder_tensors']} encoder tensors; heads kept: {', '.join(summary['heads'])})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The whole pipeline; with no --data, on the embedded synthetic data set."""
    dataset = _load_data(args) if args.data else make_synthetic(seed=args.seed)
    if not args.data:
        log.info("no --data: using the embedded synthetic data set (%s)", dataset.describe())
    out = Path(args.out or f"runs/{dataset.name}-{args.backbone}-{time.strftime('%Y%m%d-%H%M%S')}")
    label = f"{args.backbone} (fine-tuned)"
    if args.objectives != "none":
        if args.init:
            raise ValueError("ssrec run: --init and pre-training exclude each other; pass --objectives none to "
                             "fine-tune from --init")
        _prepare_out(args, out, "finetune")  # before pre-training: a finished run is refused at once
        _pretrain_run(args, dataset, out, epochs=args.pretrain_epochs, batch_size=args.pretrain_batch_size)
        distributed.barrier()  # rank 0 has written pretrained.pt before any process reads it
        args.init = str(out / "pretrained.pt")
        label = f"{args.backbone} ({args.objectives})"
    result, record, split, encoder = _finetune_run(args, dataset, out)
    from ssrec.evaluation.baselines import popularity_scorer

    sampled = argparse.Namespace(**{**vars(args), "protocol": "sampled"})
    negatives, _ = _negatives(sampled, dataset, None)
    rows = []
    for protocol in ("full", "sampled"):
        for model, scorer in (("popularity", popularity_scorer(split)),
                              (label, encoder_scorer(encoder))):
            rows.append((model, protocol, evaluate(scorer, split, "test", protocol, negatives)))
    _emit(f"\n{dataset.describe()}\ntest metrics, best validation epoch {result.best_epoch} of {result.epochs_run}"
          f" ({result.seconds:.1f}s); run folder: {out}\n")
    _emit(format_table(rows))
    return 0


# ----------------------------------------------------------------------------------------------- parser

def _add_data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--data", required=required,
                   help="S3-Rec .txt, RecBole .inter, or .parquet of user_id, item_id, timestamp")
    p.add_argument("--attributes",
                   help="item attributes: S3-Rec _item2attributes.json, RecBole .item, or .parquet with item_id")
    p.add_argument("--attribute-fields", metavar="F1,F2",
                   help="RecBole .item fields (or parquet columns) used as attributes, e.g. class,release_year "
                        "(default: every token/token_seq field; every non-float column)")


def _add_pretrain_args(p: argparse.ArgumentParser, allow_none: bool) -> None:
    p.add_argument("--objectives", default="aap,mip,map,sp",
                   help="comma-separated registered objectives (ssrec plugins); default: S3-Rec's four"
                        + ("; none: fine-tune without pre-training" if allow_none else ""))
    p.add_argument("--weights", help="one weight per objective, same order (default: each objective's own, "
                                     "S3-Rec's 0.2,1,1,0.5)")
    p.add_argument("--objective-option", action="append", default=[], metavar="OBJ.KEY=VALUE",
                   help="objective option, e.g. mip.num_negatives=8 (repeatable)")
    p.add_argument("--checkpoint-every", type=int, default=10, help="epochs between pre-training checkpoints")


def _add_eval_args(p: argparse.ArgumentParser, protocol: str) -> None:
    p.add_argument("--protocol", choices=("full", "sampled"), default=protocol)
    p.add_argument("--negatives", help="fixed negatives file for the sampled protocol (user neg1 ... neg99); "
                                       "without it 99 negatives per user are generated with --seed")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, or auto")


def _add_finetune_args(p: argparse.ArgumentParser, out_required: bool = True) -> None:
    p.add_argument("--backbone", default="sasrec", required=False, help="a registered backbone (ssrec plugins)")
    p.add_argument("--backbone-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backbone hyper-parameter, e.g. dropout=0.2 (repeatable)")
    p.add_argument("--init", help="initialise from a checkpoint (pre-trained or fine-tuned)")
    p.add_argument("--loss", choices=list_losses(), default="bce",
                   help="a registered fine-tuning loss (ssrec plugins); bce: released, one sampled negative per position")
    p.add_argument("--loss-option", action="append", default=[], metavar="KEY=VALUE",
                   help="loss option, e.g. num_negatives=128 (repeatable)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--no-bucketing", dest="bucketing", action="store_false",
                   help="plain random batches as released (default: length-bucketed batches, same data, less padding)")
    _add_precision_arg(p)
    p.add_argument("--out", required=out_required, help="run folder for model.pt and metrics.json")
    _add_run_folder_args(p)


def _add_precision_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="training forward passes in fp32 (released) or bf16 autocast; evaluation stays fp32")


def _add_run_folder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last epoch (same options as the interrupted run)")


def _add_config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE.toml",
                   help="options from a TOML file (keys as the options, e.g. batch_size = 256); the command line "
                        "overrides it; a run folder's config.toml repeats that run")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; a --config file's options become the subcommand's defaults first."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # name -> subcommand parser
    command = next((a for a in argv if a in commands), None)
    config = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None) or \
        next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    if command is not None and config is not None:
        apply_config(commands[command], command, config)
    return parser.parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ssrec", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ssrec {ssrec.__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and results")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", help="list backbones and objectives with the package providing each")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("pretrain", help="self-supervised pre-training; writes pretrained.pt and pretrain.json")
    _add_data_args(p)
    p.add_argument("--backbone", default="transformer", help="a registered backbone (ssrec plugins)")
    p.add_argument("--backbone-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backbone hyper-parameter, e.g. dropout=0.2 (repeatable)")
    _add_pretrain_args(p, allow_none=False)
    p.add_argument("--epochs", type=int, default=100, help="released: 100-150; most of the gain comes in 20")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-len", type=int, default=50)
    p.add_argument("--no-bucketing", dest="bucketing", action="store_false",
                   help="plain random batches as released (default: length-bucketed batches, same samples)")
    _add_precision_arg(p)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, or auto")
    p.add_argument("--out", required=True, help="run folder for pretrained.pt, checkpoints and pretrain.json")
    _add_run_folder_args(p)
    _add_config_arg(p)
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("finetune", help="next-item fine-tuning with early stopping; writes model.pt, metrics.json")
    _add_data_args(p)
    _add_finetune_args(p)
    _add_eval_args(p, "sampled")
    _add_config_arg(p)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="evaluate a checkpoint; the model is rebuilt from the file alone")
    p.add_argument("--checkpoint", required=True)
    _add_data_args(p)
    _add_eval_args(p, "sampled")
    p.add_argument("--split", choices=("valid", "test"), default="test")
    p.add_argument("--attention", choices=sorted(IMPLEMENTATIONS),
                   help="evaluate with this attention implementation (default: the checkpoint's)")
    p.add_argument("--json", action="store_true")
    _add_config_arg(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("plot", help="draw a run folder's loss and metric curves (log.jsonl) to a PNG")
    p.add_argument("run", help="a run folder")
    p.add_argument("--out", help="the PNG to write (default RUN/curves.png)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("import-checkpoint", help="convert an S3-Rec authors' checkpoint into an ssrec checkpoint")
    p.add_argument("source", help="the authors' .pt state dict")
    p.add_argument("--out", required=True, help="the ssrec pre-trained checkpoint to write")
    p.add_argument("--num-heads", type=int, default=2, help="attention heads (not recorded in the release)")
    p.set_defaults(func=cmd_import_checkpoint)

    p = sub.add_parser("run", help="pre-training then fine-tuning; with no arguments on an embedded synthetic data set")
    _add_data_args(p, required=False)
    _add_finetune_args(p, out_required=False)
    _add_pretrain_args(p, allow_none=True)
    p.add_argument("--pretrain-epochs", type=int, default=RUN_PRETRAIN_EPOCHS)
    p.add_argument("--pretrain-batch-size", type=int, default=100)
    p.set_defaults(backbone="transformer")
    _add_eval_args(p, "full")
    _add_config_arg(p)
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse(argv)
    except ConfigError as exc:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
        log.error("%s", exc)
        return 2
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    args.effective = effective_config(args)  # before anything below adjusts args
    bars_before = progress.enable(not args.quiet)  # for this command only: main() may be called again in-process
    try:
        if hasattr(args, "device"):
            args.device = distributed.init_from_environment(_device(args.device))
        if not distributed.is_main():
            logging.getLogger().setLevel(logging.WARNING)
        return int(args.func(args) or 0)
    except (DataFormatError, CheckpointError, PluginError, FileExistsError, ValueError, FloatingPointError,
            MissingExtra) as exc:
        log.error("%s", exc, exc_info=args.verbose)
        return 2
    finally:
        progress.enable(bars_before)
        distributed.shutdown()
