"""Seconds per pre-training epoch: ssrec against the authors' release, and against an older ssrec, in one run.

    python benchmarks/pretrain_speed.py --data ../shared/data/beauty/Beauty.txt --release-steps 30
    python benchmarks/pretrain_speed.py --against 01c17a8 --precisions fp32,bf16 --rounds 2 --release-steps 0

``--against REV`` times the same epoch with ssrec as of git revision REV (extracted with ``git archive`` into
a scratch folder and run in a subprocess), alternating old and new ``--rounds`` times, so both see the same
machine; the table gives each one's best round.

ssrec: one whole epoch (every prefix sample, all four objectives, batch 100) with ``ssrec.pretrain``.
Release: its Python data loader (``ReleasedPretrainDataset``, a torch DataLoader with random batches of
100) feeding its S3RecModel.pretrain with dropout 0.5 and Adam, both re-implemented line by line in
``tests/released_s3rec.py``; ``--release-steps`` steps are timed after one warm-up step and extrapolated
to a whole epoch. The loader alone is timed too, since it bounds the release on a GPU.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import ssrec
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.training.composition import compose
from ssrec.training.pretraining import PretrainConfig, pretrain

REPO = Path(__file__).resolve().parents[1]

log = logging.getLogger("pretrain_speed")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ssrec(dataset, device: torch.device, epochs: int, bucketing: bool, precision: str = "fp32",
               batch_size: int = 100) -> float:
    """Mean seconds per epoch of ssrec pre-training (the first epoch included)."""
    torch.manual_seed(42)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset)
    data = pretrain_samples(dataset, 50)
    config = PretrainConfig(epochs=epochs, device=str(device), bucketing=bucketing, precision=precision,
                            batch_size=batch_size)
    result = pretrain(model, data, config)
    return result.seconds / result.epochs_run


def time_release(dataset, device: torch.device, steps: int) -> tuple[float, float, int]:
    """(seconds per training step, seconds per loader batch, steps per epoch) of the release."""
    import random

    sys.path.insert(0, str(REPO))  # tests/released_s3rec.py, the reference (after ssrec was imported)
    from tests.released_s3rec import ReleasedPretrainDataset, ReleasedS3Rec

    random.seed(42)
    torch.manual_seed(42)
    sequences = [dataset.sequence(u).tolist() for u in range(dataset.num_users)]
    long_sequence = [i for s in sequences for i in s]
    attrs = dataset.attributes
    item2attribute = {str(i): attrs.of(i).tolist() for i in range(1, dataset.num_items + 1)}
    loader_data = ReleasedPretrainDataset(sequences, long_sequence, dataset.num_items, item2attribute,
                                          attrs.num_attributes)
    loader = torch.utils.data.DataLoader(loader_data, sampler=torch.utils.data.RandomSampler(loader_data),
                                         batch_size=100)
    model = ReleasedS3Rec(dataset.num_items, attrs.num_attributes, dropout=0.5).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = iter(loader)

    def step() -> None:
        batch = tuple(t.to(device) for t in next(batches))
        aap, mip, map_, sp = model.pretrain(*batch)
        loss = 0.2 * aap + mip + map_ + 0.5 * sp
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        float(loss)  # the release reads every loss with .item()

    step()  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    per_step = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    for _ in range(steps):
        next(batches)
    per_batch = (time.perf_counter() - t0) / steps
    return per_step, per_batch, len(loader)


def old_ssrec(rev: str, scratch: Path) -> Path:
    """A folder whose ``ssrec`` package is the project at git revision ``rev``, laid out as pyproject installs it."""
    source, package = scratch / "source", scratch / "package"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], check=True, capture_output=True, cwd=REPO).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    shutil.copytree(source / "ssrec", package / "ssrec")
    for folder in ("backbones", "objectives", "losses"):
        shutil.copytree(source / folder, package / "ssrec" / folder)
    return package


def time_other(package: Path, args: argparse.Namespace, precision: str) -> float:
    """Seconds per epoch of the ssrec in ``package``, measured by this script in a subprocess."""
    command = [sys.executable, __file__, "--ssrec-only", "--data", args.data, "--device", args.device,
               "--epochs", str(args.epochs), "--precisions", precision, "--batch-size", str(args.batch_size)]
    env = {**os.environ, "PYTHONPATH": str(package)}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    if not figures["ssrec"].startswith(str(package)):
        raise RuntimeError(f"the subprocess imported {figures['ssrec']}, not the revision under {package}")
    return figures[precision]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1, help="ssrec epochs to time (their mean)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--precisions", default="fp32", help="comma-separated: fp32,bf16")
    parser.add_argument("--release-steps", type=int, default=30, help="0: do not time the release")
    parser.add_argument("--against", metavar="REV", help="also time ssrec at this git revision")
    parser.add_argument("--rounds", type=int, default=1, help="alternations of old and new ssrec (best kept)")
    parser.add_argument("--no-bucketing", dest="bucketing", action="store_false")
    parser.add_argument("--ssrec-only", action="store_true", help=argparse.SUPPRESS)  # the subprocess of --against
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    dataset = ssrec.load_dataset(args.data)
    device = torch.device(args.device)
    precisions = args.precisions.split(",")
    if args.ssrec_only:
        figures = {p: time_ssrec(dataset, device, args.epochs, args.bucketing, p, args.batch_size) for p in precisions}
        print(json.dumps({**figures, "ssrec": ssrec.__file__}))
        return
    rows: list[tuple[str, float]] = []
    release_epoch = None
    if args.release_steps:
        per_step, per_batch, steps = time_release(dataset, device, args.release_steps)
        release_epoch = per_step * steps
        rows += [("release (extrapolated)", release_epoch), ("  of which its data loader", per_batch * steps)]
    with tempfile.TemporaryDirectory() as scratch:
        package = old_ssrec(args.against, Path(scratch)) if args.against else None
        for precision in precisions:
            new, old = [], []
            for _ in range(args.rounds):
                if package is not None:
                    old.append(time_other(package, args, precision))
                new.append(time_ssrec(dataset, device, args.epochs, args.bucketing, precision, args.batch_size))
            if old:
                rows.append((f"ssrec {args.against} {precision}", min(old)))
            rows.append((f"ssrec now {precision}", min(new)))
    print(f"\n{dataset.describe()}; batch {args.batch_size}; device {device}; torch threads {torch.get_num_threads()}; "
          f"{'bucketed' if args.bucketing else 'random'} batches")
    print(f"{'implementation':<30} {'s/epoch':>10} {'vs first ssrec row':>19}")
    first = next((s for name, s in rows if name.startswith("ssrec")), None)
    for name, seconds in rows:
        ratio = f"{first / seconds:.2f}x" if first and name.startswith("ssrec") else ""
        print(f"{name:<30} {seconds:>10.1f} {ratio:>19}")
    if release_epoch is not None:
        print(f"ssrec is {release_epoch / rows[-1][1]:.1f}x faster than the release per epoch")
    if args.json:
        Path(args.json).write_text(json.dumps({"dataset": dataset.name, "device": str(device),
                                               "rows": dict(rows)}, indent=2))


if __name__ == "__main__":
    main()
