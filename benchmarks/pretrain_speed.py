"""Seconds per pre-training epoch: ssrec against the authors' release, measured the same way in one run.

    python benchmarks/pretrain_speed.py --data ../shared/data/beauty/Beauty.txt --release-steps 30

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
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/released_s3rec.py, the reference

import ssrec  # noqa: E402
from ssrec.training.composition import compose  # noqa: E402
from ssrec.data.pretrain_data import pretrain_samples  # noqa: E402
from ssrec.training.pretraining import PretrainConfig, pretrain  # noqa: E402
from tests.released_s3rec import ReleasedPretrainDataset, ReleasedS3Rec  # noqa: E402

log = logging.getLogger("pretrain_speed")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ssrec(dataset, device: torch.device, epochs: int, bucketing: bool) -> float:
    """Mean seconds per epoch of ssrec pre-training (the first epoch included)."""
    torch.manual_seed(42)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset)
    data = pretrain_samples(dataset, 50)
    result = pretrain(model, data, PretrainConfig(epochs=epochs, device=str(device), bucketing=bucketing))
    return result.seconds / result.epochs_run


def time_release(dataset, device: torch.device, steps: int) -> tuple[float, float, int]:
    """(seconds per training step, seconds per loader batch, steps per epoch) of the release."""
    import random

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1, help="ssrec epochs to time")
    parser.add_argument("--release-steps", type=int, default=30)
    parser.add_argument("--no-bucketing", dest="bucketing", action="store_false")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    dataset = ssrec.load_dataset(args.data)
    device = torch.device(args.device)
    per_step, per_batch, steps = time_release(dataset, device, args.release_steps)
    release_epoch = per_step * steps
    ours = time_ssrec(dataset, device, args.epochs, args.bucketing)
    rows = [("release (extrapolated)", release_epoch), ("  of which its data loader", per_batch * steps),
            (f"ssrec ({'bucketed' if args.bucketing else 'random'} batches)", ours)]
    print(f"\n{dataset.describe()}; {steps} steps of 100 per epoch; device {device}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'implementation':<30} {'s/epoch':>10}")
    for name, seconds in rows:
        print(f"{name:<30} {seconds:>10.1f}")
    print(f"ssrec is {release_epoch / ours:.1f}x faster than the release per epoch")
    if args.json:
        Path(args.json).write_text(json.dumps({"dataset": dataset.name, "device": str(device),
                                               "release_s_per_epoch": release_epoch,
                                               "release_loader_s_per_epoch": per_batch * steps,
                                               "release_s_per_step": per_step, "ssrec_s_per_epoch": ours,
                                               "speedup": release_epoch / ours}, indent=2))


if __name__ == "__main__":
    main()
