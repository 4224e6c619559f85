"""Time to quality: wall seconds of pre-training + fine-tuning, and the test metrics they reach.

    python benchmarks/time_to_quality.py --variant faithful --seeds 42,43
    python benchmarks/time_to_quality.py --variant throughput --seeds 42,43
    python benchmarks/time_to_quality.py --variant "pretrain.epochs=8,pretrain.lr=0.003" --seeds 42

A variant is ``faithful`` (S3-Rec pre-training as released for ``--pretrain-epochs`` epochs, then ssrec's
default fine-tuning), ``throughput`` (``ssrec.runs.presets.throughput`` applied to it), either followed by
comma-separated ``stage.field=value`` overrides (``throughput,pretrain.precision=bf16``), or overrides of the
faithful spec alone (``pretrain.epochs=8,pretrain.lr=0.003``; ``pretrain.objectives=aap+mip+map``). Each
(variant, seed) appends one row to ``--results`` (CSV) and is skipped when already there, so a killed
comparison resumes. Run variants one after the other on
an otherwise idle machine, or side by side with ``OMP_NUM_THREADS=1`` each: only ratios of one setting mean
anything. Defaults: LastFM, fixed negatives, the sampled protocol.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ssrec.runs import execute
from ssrec.runs.folder import Reuse
from ssrec.runs.presets import throughput
from ssrec.runs.spec import (
    BackboneSpec,
    DataSpec,
    FinetuneSpec,
    ObjectiveSpec,
    PretrainSpec,
    ProtocolSpec,
    RunSpec,
    spec_to_dict,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_csv import append_row, read_rows  # noqa: E402

log = logging.getLogger("time_to_quality")
FIELDS = ("variant", "seed", "threads", "pretrain_epochs", "pretrain_seconds", "finetune_epochs",
          "finetune_seconds", "total_seconds", "HR@10", "NDCG@10", "MRR", "spec")


def faithful(data: str, negatives: str | None, epochs: int, seed: int, device: str = "cpu") -> RunSpec:
    return RunSpec(data=DataSpec(data), backbone=BackboneSpec("transformer"), pretrain=PretrainSpec(epochs=epochs),
                   finetune=FinetuneSpec(), seed=seed, device=device,
                   protocol=ProtocolSpec("sampled" if negatives else "full", negatives))


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def variant_spec(variant: str, base: RunSpec) -> RunSpec:
    """``base`` for "faithful", the throughput preset of it, or ``base`` with ``stage.field=value`` overrides."""
    items = variant.split(",")
    spec = base
    if items[0] in ("faithful", "throughput"):  # a named start, then overrides of it
        spec = throughput(base) if items[0] == "throughput" else base
        items = items[1:]
    for item in items:
        key, _, text = item.partition("=")
        stage, _, name = key.strip().partition(".")
        if stage not in ("pretrain", "finetune") or not name or not text:
            raise SystemExit(f"--variant: {item!r} is not stage.field=value with stage pretrain or finetune")
        value: Any = _value(text)
        if (stage, name) == ("pretrain", "objectives"):  # e.g. pretrain.objectives=aap+mip+map
            value = tuple(ObjectiveSpec(o) for o in text.split("+"))
        spec = dataclasses.replace(spec, **{stage: dataclasses.replace(getattr(spec, stage), **{name: value})})
    return spec


def measure(spec: RunSpec) -> dict[str, Any]:
    """Pre-train and fine-tune ``spec`` in a scratch folder; seconds of each stage and the test metrics."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        dataset = execute.load_data(spec.data, spec.seed)
        t0 = time.perf_counter()
        pretrained = execute.pretrain_run(spec, out, Reuse.OVERWRITE, command="run", dataset=dataset)
        t1 = time.perf_counter()
        assert spec.finetune is not None
        tuned_spec = dataclasses.replace(spec, pretrain=None,
                                         finetune=dataclasses.replace(spec.finetune, init=str(pretrained.checkpoint)))
        tuned = execute.finetune_run(tuned_spec, out, Reuse.OVERWRITE, command=None, dataset=dataset)
        t2 = time.perf_counter()
    metrics = tuned.result.test_metrics
    return {"pretrain_epochs": pretrained.result.epochs_run, "pretrain_seconds": round(t1 - t0, 1),
            "finetune_epochs": tuned.result.epochs_run, "finetune_seconds": round(t2 - t1, 1),
            "total_seconds": round(t2 - t0, 1), **{m: round(metrics[m], 4) for m in ("HR@10", "NDCG@10", "MRR")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/lastfm/LastFM.txt")
    parser.add_argument("--negatives", default="../shared/data/lastfm/LastFM_sample.txt",
                        help="fixed negatives (sampled protocol); '' for full ranking")
    parser.add_argument("--pretrain-epochs", type=int, default=30, help="the faithful run's pre-training epochs")
    parser.add_argument("--variant", default="faithful")
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--results", default="benchmarks/results/time-to-quality-lastfm.csv")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    results = Path(args.results)
    for seed in (int(s) for s in args.seeds.split(",")):
        if any(r["variant"] == args.variant and r["seed"] == str(seed) for r in read_rows(results)):
            log.info("%s seed %d: already in %s", args.variant, seed, results)
            continue
        base = faithful(args.data, args.negatives or None, args.pretrain_epochs, seed, args.device)
        spec = variant_spec(args.variant, base)
        row = {"variant": args.variant, "seed": seed, "threads": torch.get_num_threads(), **measure(spec),
               "spec": json.dumps({k: v for k, v in spec_to_dict(spec).items() if k in ("pretrain", "finetune")})}
        append_row(results, row, FIELDS)
        log.info("%s", row)


if __name__ == "__main__":
    main()
