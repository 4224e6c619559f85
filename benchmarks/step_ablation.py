"""What fusing the elementwise ops could give at most: training steps with them removed outright.

    python benchmarks/step_ablation.py --stage pretrain --rounds 2
    python benchmarks/step_ablation.py --stage finetune --loss bce

Each variant trains on the same bucketed Beauty batches (``profile_step.step_function``) in its own
subprocess, alternating ``--rounds`` times, and prints milliseconds per step timed without the profiler:

- ``as released``: the model as it trains;
- ``no dropout``: hidden and attention dropout 0 (eager attention, as with dropout);
- ``no LayerNorm``: every ``nn.LayerNorm`` returns its input;
- ``GELU -> ReLU``: the feed-forward activation replaced by a cheaper one.

A variant computes another model, so only its time means anything: the gap to ``as released`` bounds what
any kernel fusing that op could save. On this 2-core CPU (one thread, idle, best of 2, 2026-12-04):

| step | as released | no dropout | no LayerNorm | GELU -> ReLU |
|---|---|---|---|---|
| Beauty pre-training (batch 100, four objectives) | 33.3 ms | -14% | -6% | -1% |
| Beauty fine-tuning, bce (batch 256) | 27.1 ms | -15% | -2% | -2% |
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

VARIANTS = {"released": "as released", "no-dropout": "no dropout", "no-layernorm": "no LayerNorm",
            "relu": "GELU -> ReLU"}


def measure(args: argparse.Namespace) -> float:
    """Mean seconds per step of ``args.variant`` over ``args.steps`` steps after ``args.warmup``."""
    import ssrec

    sys.path.insert(0, str(Path(__file__).parent))
    import profile_step

    create = ssrec.create_backbone
    options: dict[str, object] = {"attention": "eager"}
    if args.variant == "no-dropout":
        options.update(dropout=0.0, attention_dropout=0.0)
    if args.variant == "no-layernorm":
        torch.nn.LayerNorm.forward = lambda self, x: x  # type: ignore[method-assign, assignment]
    if args.variant == "relu":
        F.gelu = torch.relu  # type: ignore[assignment]  # the Transformer's feed-forward looks it up when called
    ssrec.create_backbone = lambda name, **kw: create(name, **{**kw, **options})  # what profile_step calls
    step, batches = profile_step.step_function(args)
    for rows in batches[:args.warmup]:
        step(rows)
    timed = batches[args.warmup:args.warmup + args.steps]
    t0 = time.perf_counter()
    for rows in timed:
        step(rows)
    return (time.perf_counter() - t0) / len(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--stage", choices=("pretrain", "finetune"), default="pretrain")
    parser.add_argument("--loss", default="bce", help="fine-tuning loss")
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one measurement, in the subprocess
    args = parser.parse_args()
    args.precision = "fp32"
    if args.variant:
        print(measure(args))
        return
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--variant", variant], check=True,
                                 capture_output=True, text=True).stdout
            times[variant].append(float(out.split()[-1]))
    base = min(times["released"])
    print(f"| {args.stage} step, {torch.get_num_threads()} threads | ms per step (best of {args.rounds}) "
          "| vs as released |")
    print("|---|---|---|")
    for variant, seconds in times.items():
        print(f"| {VARIANTS[variant]} | {min(seconds) * 1e3:.1f} | {min(seconds) / base - 1:+.0%} |")


if __name__ == "__main__":
    main()
