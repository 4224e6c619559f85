"""The training and evaluation paths of ssrec now against ssrec at an older git revision, in one run.

    python benchmarks/speed_vs_revision.py --against 01c17a8 --rounds 2

Rows: one S3-Rec pre-training epoch on Beauty (all four objectives, batch 100, fp32 and bf16), one SASRec
fine-tuning epoch with ``bce`` and with ``ce`` (full ranking, batch 256), and a full-ranking evaluation of
every user. Each is timed in a fresh subprocess, old and new alternating ``--rounds`` times so both see the
same machine; the table keeps each one's best round and their ratio. The old revision is extracted with
``git archive`` (``pretrain_speed.old_ssrec``). Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
TASKS = ("pretrain-fp32", "pretrain-bf16", "finetune-bce", "finetune-ce", "evaluate")


def measure(task: str, data: str) -> float:
    """Seconds of ``task`` with whichever ssrec this process imports (a pre-training or fine-tuning epoch, the
    second of two so that one-time costs are left out, or one evaluation after a warm-up)."""
    import torch

    import ssrec
    from ssrec.data.pretrain_data import pretrain_samples
    from ssrec.data.split import leave_one_out
    from ssrec.evaluation.ranking import encoder_scorer, rank_full
    from ssrec.training.composition import compose
    from ssrec.training.finetuning import FinetuneConfig, finetune
    from ssrec.training.pretraining import PretrainConfig, pretrain

    dataset = ssrec.load_dataset(data)
    torch.manual_seed(0)
    if task.startswith("pretrain"):
        model = compose(ssrec.create_backbone("transformer", num_items=dataset.num_items), ["aap", "mip", "map", "sp"],
                        dataset)
        result = pretrain(model, pretrain_samples(dataset, 50), PretrainConfig(epochs=2, precision=task.split("-")[1]))
        return result.history[-1]["seconds"]
    split = leave_one_out(dataset, 50)
    encoder = ssrec.create_backbone("sasrec", num_items=dataset.num_items)
    if task.startswith("finetune"):
        config = FinetuneConfig(protocol="full", epochs=2, patience=10, loss=task.split("-")[1])
        return finetune(encoder, split, config).history[-1]["train_seconds"]
    encoder.eval()
    rank_full(encoder_scorer(encoder), split, "test")
    t0 = time.perf_counter()
    rank_full(encoder_scorer(encoder), split, "test")
    return time.perf_counter() - t0


def in_subprocess(task: str, data: str, package: Path | None) -> float:
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    out = subprocess.run([sys.executable, __file__, "--task", task, "--data", data], env=env, check=True,
                         capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    if package is not None and not figures["ssrec"].startswith(str(package)):
        raise RuntimeError(f"the subprocess imported {figures['ssrec']}, not the revision under {package}")
    return figures["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--against", help="the older git revision")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--task", help=argparse.SUPPRESS)  # one measurement, in the subprocess
    args = parser.parse_args()
    if args.task:
        import ssrec

        print(json.dumps({"seconds": measure(args.task, args.data), "ssrec": ssrec.__file__}))
        return
    if not args.against:
        raise SystemExit("--against REV is required")
    from pretrain_speed import old_ssrec

    with tempfile.TemporaryDirectory() as scratch:
        package = old_ssrec(args.against, Path(scratch))
        print(f"{'task':<16}{args.against + ' (s)':>14}{'now (s)':>10}{'speed-up':>10}", flush=True)
        for task in args.tasks.split(","):
            old, new = [], []
            for _ in range(args.rounds):
                old.append(in_subprocess(task, args.data, package))
                new.append(in_subprocess(task, args.data, None))
            print(f"{task:<16}{min(old):>14.2f}{min(new):>10.2f}{min(old) / min(new):>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
