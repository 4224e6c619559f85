"""The ``ssrec`` command line: a thin translation of options into run specs (``ssrec.runs``), then printing.

Every training setting lives in ``ssrec.runs.spec``; an option given on the command line overrides the
same field of the command's default spec or of its ``--config`` file, and nothing else.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ssrec
from ssrec import distributed, progress
from ssrec.data import DataFormatError
from ssrec.extras import MissingExtra
from ssrec.io.checkpoint import CheckpointError
from ssrec.plugins import PluginError, describe_plugins, failed_plugins, format_plugins_table, list_losses
from ssrec.runs import execute
from ssrec.runs.config_file import ConfigError, apply_flat_config, read_config
from ssrec.runs.folder import reuse_of
from ssrec.runs.options import objectives_from_options, option_pairs
from ssrec.runs.presets import PRESETS
from ssrec.runs.report import format_table, pretrain_summary
from ssrec.runs.spec import METRICS, PROTOCOLS, PretrainSpec, ProtocolSpec, RunSpec, SpecError, default_spec
from ssrec.threads import use_threads
from ssrec.training.precision import PRECISIONS
from ssrec.training.stopping import RULES as STOPPING_RULES

log = logging.getLogger("ssrec")


def _given(args: argparse.Namespace, **fields: str) -> dict[str, Any]:
    """{spec field: option value} for the options that were given (by the command line or a flat config)."""
    return {name: getattr(args, dest) for name, dest in fields.items() if getattr(args, dest, None) is not None}


def spec_from_args(args: argparse.Namespace, base: RunSpec) -> RunSpec:
    """``base`` (the command's default spec, or its --config file) with every given option applied."""
    data_fields: dict[str, Any] = _given(args, path="data", attributes="attributes", max_len="max_len")
    if getattr(args, "attribute_fields", None):
        data_fields["attribute_fields"] = tuple(f for f in args.attribute_fields.split(",") if f)
    data = dataclasses.replace(base.data, **data_fields)
    backbone = dataclasses.replace(base.backbone, **_given(args, name="backbone"), options={
        **base.backbone.options, **option_pairs("--backbone-option", getattr(args, "backbone_option", None) or [],
                                                "dropout=0.2")})
    shared = _given(args, lr="lr", bucketing="bucketing", precision="precision")
    pretrain, finetune = base.pretrain, base.finetune
    if args.command == "run" and args.objectives == "none":
        pretrain = None
    elif args.command in ("pretrain", "run"):
        stage = pretrain or PretrainSpec()
        names = {"epochs": "pretrain_epochs", "batch_size": "pretrain_batch_size"} if args.command == "run" else \
            {"epochs": "epochs", "batch_size": "batch_size", "weight_decay": "weight_decay"}
        objectives = objectives_from_options(args.objectives, args.weights, args.objective_option, stage.objectives)
        pretrain = dataclasses.replace(stage, objectives=objectives, **shared,
                                       **_given(args, checkpoint_every="checkpoint_every", **names))
    if args.command in ("finetune", "run") and finetune is not None:
        finetune = dataclasses.replace(finetune, **shared, loss_options={
            **finetune.loss_options, **option_pairs("--loss-option", args.loss_option or [], "num_negatives=128")},
            **_given(args, loss="loss", epochs="epochs", stopping="stopping", patience="patience",
                     batch_size="batch_size", init="init", weight_decay="weight_decay"))
    protocol = base.protocol
    if getattr(args, "protocol", None) is not None or getattr(args, "negatives", None) is not None:
        protocol = ProtocolSpec(args.protocol or protocol.name, args.negatives, protocol.valid_metric)
    protocol = dataclasses.replace(protocol, **_given(args, valid_metric="valid_metric"))
    return RunSpec(data=data, backbone=backbone, pretrain=pretrain, finetune=finetune, protocol=protocol,
                   **{"seed": base.seed, "device": base.device, **_given(args, seed="seed", device="device")})


def _emit(text: str) -> None:  # rank 0 only under torchrun
    if distributed.is_main():
        print(text)


def cmd_plugins(args: argparse.Namespace, spec: RunSpec | None) -> None:
    described = describe_plugins()
    print(json.dumps(described, indent=2) if args.json else format_plugins_table(described, failed_plugins()))


def cmd_pretrain(args: argparse.Namespace, spec: RunSpec) -> None:
    outcome = execute.pretrain_run(spec, Path(args.out), reuse_of(overwrite=args.overwrite, resume=args.resume))
    _emit(pretrain_summary(outcome.record, outcome.checkpoint, spec.backbone.name))


def cmd_finetune(args: argparse.Namespace, spec: RunSpec) -> None:
    outcome = execute.finetune_run(spec, Path(args.out), reuse_of(overwrite=args.overwrite, resume=args.resume))
    _emit(format_table([(spec.backbone.name, outcome.protocol.name, outcome.result.test_metrics)]))


def cmd_evaluate(args: argparse.Namespace, spec: RunSpec) -> None:
    record = execute.evaluate_checkpoint(args.checkpoint, spec, args.split or "test", args.attention)
    _emit(json.dumps(record, indent=2) if args.json else
          format_table([(record["config"]["backbone"]["name"], record["protocol"], record["metrics"])]))


def cmd_run(args: argparse.Namespace, spec: RunSpec) -> None:
    """The whole pipeline; with no --data, on the embedded synthetic data set."""
    out = Path(args.out or f"runs/{Path(spec.data.path).stem if spec.data.path else 'synthetic'}-"
               f"{spec.backbone.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    outcome = execute.run(spec, out, reuse_of(overwrite=args.overwrite, resume=args.resume))
    result = outcome.finetune.result
    _emit(f"\n{outcome.dataset.describe()}\ntest metrics, best validation epoch {result.best_epoch} of "
          f"{result.epochs_run} ({result.seconds:.1f}s); run folder: {out}\n")
    _emit(format_table(outcome.rows))


def cmd_plot(args: argparse.Namespace, spec: RunSpec | None) -> None:
    from ssrec.runs.plot import plot_run
    from ssrec.tuning.plot import is_search_folder, plot_search

    print(plot_search(args.run, args.out) if is_search_folder(Path(args.run)) else plot_run(args.run, args.out))


def cmd_tune(args: argparse.Namespace, spec: RunSpec | None) -> None:
    from ssrec.runs.folder import write_json
    from ssrec.tuning.search import TuneConfig, format_trials, storage_url, tune
    from ssrec.tuning.space import read_space

    base, flat = read_config(args.config, _written_by(args.config))
    if base is None or flat:
        raise ConfigError(f"{args.config}: a tuning base must be a run spec (a file `ssrec finetune` or `ssrec run` "
                          "saved, or one with [data], [backbone], [finetune] tables)")
    dimensions = read_space(args.space, base)
    out = Path(args.out)
    config = TuneConfig(trials=args.trials, timeout=args.timeout, study=args.study, storage=args.storage,
                        pruner=args.pruner, sampler=args.sampler, seed=args.seed, heartbeat=args.heartbeat)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "tune.json", {"study": config.study, "storage": storage_url(out, config.storage),
                                   "metric": base.protocol.metric, "base": str(args.config), "space": str(args.space)})
    outcome = tune(base, dimensions, out, config)
    print(format_trials(outcome.rows, base.protocol.metric))
    if outcome.best is None:
        print("no trial completed")
        return
    best = outcome.best
    print(f"\nbest: trial {best['number']} {best['params']}: valid {base.protocol.metric} "
          f"{best['valid_' + base.protocol.metric]:.4f}; test (computed once, now):")
    print(format_table([(f"trial {best['number']}", base.protocol.name, best["test"])]))
    print(f"its spec: {best['config']} (repeat it with `ssrec {'run' if base.pretrain else 'finetune'} --config "
          f"{best['config']} --out DIR`)")


def _written_by(path: str) -> str:
    """The command a config file names (``command = "run"``), finetune when it names none."""
    from ssrec.runs.config_file import read_toml

    return str(read_toml(Path(path), "config").get("command", "finetune"))


def cmd_import_checkpoint(args: argparse.Namespace, spec: RunSpec | None) -> None:
    from ssrec.io.released_checkpoint import import_released_checkpoint

    summary = import_released_checkpoint(args.source, args.out, num_heads=args.num_heads)
    print(f"{args.out}: transformer over {summary['num_items']} items from {args.source} "
          f"({summary['encoder_tensors']} encoder tensors; heads kept: {', '.join(summary['heads'])})")


def cmd_recommend(args: argparse.Namespace, spec: RunSpec | None) -> None:
    from ssrec.data import load_dataset
    from ssrec.serving.recommend_data import recommend_data
    from ssrec.serving.recommender import MissingVocabulary, Recommender
    from ssrec.serving.vocabulary import Vocabulary

    dataset = load_dataset(args.data, drop_short_users=True)
    device = execute.resolve_device(args.device)
    try:
        recommender = Recommender.load(args.checkpoint, device)
    except MissingVocabulary:
        log.warning("%s records no item ids; taking them from %s (the data it was trained on?)", args.checkpoint,
                    args.data)
        recommender = Recommender.load(args.checkpoint, device, vocabulary=Vocabulary.of(dataset, with_users=True))
    summary = recommend_data(recommender, dataset, k=args.k, exclude_seen=not args.include_seen, history=args.history,
                             users_file=Path(args.users) if args.users else None,
                             on_unknown="skip" if args.skip_unknown else "error",
                             out=Path(args.out) if args.out else None, overwrite=args.overwrite)
    if args.out:
        print(f"{summary.out}: top {args.k} items for {summary.users} users")


def cmd_export(args: argparse.Namespace, spec: RunSpec | None) -> None:
    from ssrec.serving.export import export_checkpoint

    report = export_checkpoint(args.checkpoint, args.format, args.out, overwrite=args.overwrite)
    check = report.get("onnxruntime_max_abs_difference")
    print(f"{report['out']}: {', '.join(report['files'])}"
          + (f" (onnxruntime vs torch: max |score difference| {check:.2e})" if check is not None else ""))


def _defaults(command: str) -> str:
    spec = default_spec(command)
    stage = spec.pretrain if command == "pretrain" else spec.finetune
    return (f"defaults: backbone {spec.backbone.name}, protocol {spec.protocol.name}, seed {spec.seed}; "
            + ", ".join(f"{f.name} {getattr(stage, f.name)}" for f in dataclasses.fields(stage)  # type: ignore[arg-type]
                        if f.name not in ("objectives", "loss_options", "init")))


def build_parser() -> argparse.ArgumentParser:
    """The options; every spec setting defaults to None (not given), so the spec's own defaults apply."""
    parser = argparse.ArgumentParser(prog="ssrec", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ssrec {ssrec.__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and results")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: OMP_NUM_THREADS, else the CPUs "
                        "this process may use, shared by torchrun's local ranks); two jobs on the same cores slow "
                        "each other down many times over")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[..., None]] = {"plugins": cmd_plugins, "pretrain": cmd_pretrain,
                                                "finetune": cmd_finetune, "evaluate": cmd_evaluate, "run": cmd_run,
                                                "plot": cmd_plot, "import-checkpoint": cmd_import_checkpoint,
                                                "recommend": cmd_recommend, "export": cmd_export,
                                                "tune": cmd_tune}
    helps = {"plugins": "list backbones, objectives and losses with the package providing each",
             "pretrain": "self-supervised pre-training; writes pretrained.pt and pretrain.json",
             "finetune": "next-item fine-tuning with early stopping; writes model.pt, metrics.json",
             "evaluate": "evaluate a checkpoint; the model is rebuilt from the file alone",
             "run": "pre-training then fine-tuning; with no arguments on an embedded synthetic data set",
             "plot": "draw a run folder's loss and metric curves (log.jsonl) to a PNG",
             "import-checkpoint": "convert an S3-Rec authors' checkpoint into an ssrec checkpoint",
             "recommend": "top-k items for the users of a data file, in the data's own ids",
             "export": "a checkpoint as safetensors, ONNX (the scoring path) or item embeddings, into a folder",
             "tune": "hyper-parameter search over a run spec on Optuna (resumable, several workers)"}
    subs = {}
    for name, func in commands.items():
        subs[name] = p = sub.add_parser(name, help=helps[name], epilog=_defaults(name) if name in (
            "pretrain", "finetune", "run") else None)
        p.set_defaults(func=func)
        add = p.add_argument
        if name in ("pretrain", "finetune", "evaluate", "run"):
            add("--data", required=name != "run",
                help="S3-Rec .txt, RecBole .inter, or .parquet of user_id, item_id, timestamp")
            add("--attributes", help="S3-Rec _item2attributes.json, RecBole .item, or .parquet with item_id")
            add("--attribute-fields", metavar="F1,F2",
                help="RecBole .item fields (or parquet columns) used as attributes")
            add("--seed", type=int)
            add("--device", help="cpu, cuda, cuda:1, mps, or auto")
            add("--config", metavar="FILE.toml",
                help="a run spec (or an older option file); the command line overrides it")
        if name in ("pretrain", "finetune", "run"):
            add("--backbone", help="a registered backbone (ssrec plugins)")
            add("--backbone-option", action="append", metavar="KEY=VALUE",
                help="backbone hyper-parameter, e.g. dropout=0.2")
            add("--max-len", type=int)
            add("--lr", type=float)
            add("--weight-decay", type=float)
            add("--batch-size", type=int)
            add("--epochs", type=int)
            add("--no-bucketing", dest="bucketing", action="store_const", const=False,
                help="plain random batches as released (default: length-bucketed batches, loss weighted per token)")
            add("--precision", choices=PRECISIONS, help="training forward passes in fp32 (released) or bf16 autocast")
            add("--preset", choices=sorted(PRESETS),
                help="throughput: the faithful quality sooner (ssrec.runs.presets); the other options override it")
            add("--out", required=name != "run", help="the run folder")
            add("--overwrite", action="store_true", help="replace a run already in --out")
            add("--resume", action="store_true", help="continue the run in --out from its last epoch")
        if name in ("pretrain", "run"):
            add("--objectives", help="comma-separated registered objectives (default: S3-Rec's aap,mip,map,sp)"
                + ("; none: fine-tune without pre-training" if name == "run" else ""))
            add("--weights", help="one weight per objective, same order (default: each objective's own)")
            add("--objective-option", action="append", metavar="OBJ.KEY=VALUE", help="e.g. mip.num_negatives=8")
            add("--checkpoint-every", type=int, help="epochs between pre-training checkpoints")
        if name in ("finetune", "run"):
            add("--init", help="initialise from a checkpoint (pre-trained or fine-tuned)")
            add("--loss", choices=list_losses(), help="a registered fine-tuning loss (default: bce, as released)")
            add("--loss-option", action="append", metavar="KEY=VALUE", help="loss option, e.g. num_negatives=128")
            add("--stopping", choices=list(STOPPING_RULES),
                help="early stopping: ssrec (default; outlasts plateaus) or released (patience 10 from the best)")
            add("--patience", type=int, help="epochs without progress before stopping (default: the rule's own)")
        if name in ("finetune", "evaluate", "run"):
            add("--protocol", choices=PROTOCOLS)
            add("--negatives", help="fixed negatives of the sampled protocol (user neg1 ... neg99); default: "
                                    "generated with --seed")
            add("--valid-metric", choices=METRICS, help="model selection metric (default: MRR sampled, NDCG@20 full)")
        if name == "run":
            add("--pretrain-epochs", type=int)
            add("--pretrain-batch-size", type=int)
    subs["plugins"].add_argument("--json", action="store_true")
    subs["evaluate"].add_argument("--checkpoint", required=True)
    subs["evaluate"].add_argument("--split", choices=("valid", "test"))
    subs["evaluate"].add_argument("--attention", help="evaluate with this attention implementation")
    subs["evaluate"].add_argument("--json", action="store_true")
    subs["plot"].add_argument("run", help="a run folder")
    subs["plot"].add_argument("--out", help="the PNG to write (default RUN/curves.png)")
    subs["import-checkpoint"].add_argument("source", help="the authors' .pt state dict")
    subs["import-checkpoint"].add_argument("--out", required=True, help="the ssrec pre-trained checkpoint to write")
    subs["import-checkpoint"].add_argument("--num-heads", type=int, default=2, help="attention heads (not recorded)")
    rec = subs["recommend"].add_argument
    rec("--checkpoint", required=True, help="a fine-tuned checkpoint (model.pt)")
    rec("--data", required=True, help="the users' histories: S3-Rec .txt, RecBole .inter or .parquet")
    rec("--users", help="a file of user ids, one per line (default: every user of --data)")
    rec("--k", type=int, default=10, help="items per user (default 10)")
    rec("--include-seen", action="store_true", help="also recommend items of the user's history")
    rec("--history", choices=("full", "train"), default="full",
        help="the whole history (default), or without its last two items (leave-one-out's training part)")
    rec("--skip-unknown", action="store_true",
        help="drop item ids the model does not know from the histories, and skip unknown users (logged, counted)")
    rec("--out", help="recs.csv, recs.jsonl or recs.parquet (default: CSV on standard output)")
    rec("--overwrite", action="store_true", help="replace an existing --out")
    rec("--device", default="auto", help="cpu, cuda, cuda:1, mps, or auto")
    exp = subs["export"].add_argument
    exp("checkpoint", help="an ssrec checkpoint")
    exp("--format", required=True, choices=("safetensors", "onnx", "embeddings"))
    exp("--out", required=True, help="the folder to write")
    exp("--overwrite", action="store_true", help="replace an existing --out")
    tune = subs["tune"].add_argument
    tune("--config", required=True, metavar="BASE.toml", help="the run spec every trial starts from")
    tune("--space", required=True, metavar="SPACE.toml", help="the searched keys (choice, uniform, loguniform, ...)")
    tune("--trials", type=int, default=20, help="finished trials the study should hold, over all workers")
    tune("--timeout", type=float, help="seconds this worker may spend")
    tune("--study", default="ssrec", help="the study's name in its storage")
    tune("--storage", help="an SQLAlchemy URL (default: sqlite:///OUT/study.db)")
    tune("--pruner", choices=("median", "hyperband", "none"), default="median")
    tune("--sampler", choices=("tpe", "grid", "random"), default="tpe",
         help="grid: every combination of choices and integer ranges, as RecBole's exhaustive search")
    tune("--seed", type=int, help="the sampler's seed (give workers sharing a study different seeds)")
    tune("--heartbeat", type=int, default=10, help="seconds between a trial's liveness signals; a trial silent "
         "for twice as long (a killed worker's) is marked failed")
    tune("--out", required=True, help="the search folder: study.db, trial-NNNN/, best-config.toml")
    parser.subcommands = subs  # type: ignore[attr-defined]
    return parser


def _parse(argv: list[str]) -> tuple[argparse.Namespace, RunSpec | None]:
    """The parsed options and the run spec they describe (None for commands that run nothing)."""
    parser = build_parser()
    command = next((a for a in argv if a in parser.subcommands), None)  # type: ignore[attr-defined]
    config = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None) or \
        next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    base = None
    if command in ("pretrain", "finetune", "evaluate", "run"):
        base = default_spec(command)
        if config is not None:
            from_file, flat = read_config(config, command)
            if from_file is not None:
                base = from_file
                for action in parser.subcommands[command]._actions:  # type: ignore[attr-defined]
                    action.required = action.required and action.dest not in ("data",)
            else:
                apply_flat_config(parser.subcommands[command], command, config, flat)  # type: ignore[attr-defined]
    args = parser.parse_args(argv)
    if base is None:
        return args, None
    if getattr(args, "preset", None):
        base = PRESETS[args.preset](base)
    try:
        return args, spec_from_args(args, base)
    except SpecError as exc:
        raise ConfigError(f"{config}: {exc}" if config else str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    log_format = {"format": "%(asctime)s %(levelname)s %(message)s", "datefmt": "%H:%M:%S", "stream": sys.stderr}
    try:
        args, spec = _parse(list(sys.argv[1:] if argv is None else argv))
    except (ConfigError, ValueError, PluginError) as exc:
        logging.basicConfig(**log_format)  # type: ignore[arg-type]
        log.error("%s", exc)
        return 2
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, **log_format)  # type: ignore[arg-type]
    bars_before = progress.enable(not args.quiet)  # for this command only: main() may be called again in-process
    threads_before = None
    try:
        threads_before = use_threads(args.threads)
        if spec is not None:
            device = distributed.init_from_environment(execute.resolve_device(spec.device))
            spec = dataclasses.replace(spec, device=device)
        if not distributed.is_main():
            logging.getLogger().setLevel(logging.WARNING)
        args.func(args, spec)
        return 0
    except (DataFormatError, CheckpointError, PluginError, FileExistsError, ValueError, FloatingPointError,
            MissingExtra, OSError) as exc:
        log.error("%s", exc, exc_info=args.verbose)
        return 2
    finally:
        progress.enable(bars_before)
        if threads_before is not None:
            use_threads(threads_before)
        distributed.shutdown()
