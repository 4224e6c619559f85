"""One table of ssrec's speed on a data set against the reference figures, and how far from the hardware.

    python benchmarks/speed_report.py --data ../shared/data/beauty/Beauty.txt --device cuda
    python benchmarks/speed_report.py --data ../shared/data/lastfm/LastFM.txt --device cpu --attention-lengths 256

Rows: one S3-Rec pre-training epoch (all four objectives, batch 100), one SASRec fine-tuning epoch (batch
256), one full-ranking evaluation of every user, each in fp32 and bf16 where it trains; every epoch is
timed after a warm-up epoch. Each row also gives its FLOPs (counted by ``torch.utils.flop_counter`` on
real batches and scaled to the epoch) and a lower bound of its memory traffic (parameters, gradients and
Adam's two moments read and written once per step), and, with ``--peak-tflops``/``--peak-gbps``, the time
the hardware would need for them. Then attention at long lengths: eager, sdpa and flex, forward and
backward (flex has no backward on CPU), with the peak memory on CUDA.

Reference figures are those the issue quotes for an H100 (the authors' release: 539 s per Beauty
pre-training epoch) and the targets; they are not measured here.
"""
from __future__ import annotations

import argparse
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import ssrec
from ssrec.data.batching import trim_leading_padding
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.data.split import leave_one_out
from ssrec.evaluation.ranking import encoder_scorer, rank_full
from ssrec.nn.attention import attention, attention_mask
from ssrec.training.composition import compose
from ssrec.training.finetuning import FinetuneConfig, build_loss, finetune
from ssrec.training.precision import autocast
from ssrec.training.pretraining import PretrainConfig, pretrain

#: what the issue quotes: (reference, its seconds on an H100; the target on an H100/H200)
REFERENCE = {"pretrain": ("authors' release", 539.0, 2.0), "finetune": ("", None, 0.5),
             "finetune-ce": ("", None, 0.5), "evaluate": ("", None, 0.2)}
#: per fp32 parameter and step at least: weight read and written, gradient written and read, two moments read
#: and written
ADAM_BYTES_PER_PARAMETER = 8 * 4


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def flops_per_epoch(forward_backward: Callable[[torch.Tensor], None], batches: list[torch.Tensor],
                    steps: int) -> float:
    """FLOPs of ``forward_backward`` averaged over ``batches``, times the ``steps`` of an epoch."""
    return sum(count_flops(functools.partial(forward_backward, b)) for b in batches) / len(batches) * steps


def pretrain_row(dataset, device: torch.device, precision: str) -> dict[str, float]:
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset)
    data = pretrain_samples(dataset, 50)
    config = PretrainConfig(epochs=2, device=str(device), precision=precision)
    result = pretrain(model, data, config)
    steps = -(-data.num_samples // config.batch_size)
    g = torch.Generator(device=device).manual_seed(0)
    order = torch.randperm(data.num_samples, generator=torch.Generator().manual_seed(1))
    batches = list(order.split(config.batch_size)[:10])

    def forward_backward(samples: torch.Tensor) -> None:
        with autocast(device, precision):
            total, _ = model(data.batch(samples.to(device)), data, g)
        total.backward()

    model.train()
    flops = flops_per_epoch(forward_backward, batches, steps)
    params = sum(p.numel() for p in model.parameters())
    return {"seconds": result.history[-1]["seconds"], "flops": flops,
            "bytes": params * ADAM_BYTES_PER_PARAMETER * steps, "steps": steps}


def finetune_row(split, device: torch.device, precision: str, loss: str = "bce") -> dict[str, float]:
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=split.dataset.num_items)
    config = FinetuneConfig(protocol="full", epochs=2, patience=10, device=str(device), precision=precision,
                            loss=loss)
    result = finetune(encoder, split, config)
    users = torch.nonzero((split.train_targets > 0).any(dim=1))[:, 0]
    steps = -(-len(users) // config.batch_size)
    loss_fn = build_loss(config, split, device)
    g = torch.Generator(device=device).manual_seed(0)
    encoder.train()

    def forward_backward(rows: torch.Tensor) -> None:
        x, y = trim_leading_padding(split.train_inputs[rows].to(device), split.train_targets[rows].to(device))
        with autocast(device, precision):
            loss = loss_fn(encoder.encode(x, causal=True), y, rows.to(device), encoder.item_embeddings.weight, g)
        loss.backward()

    order = torch.randperm(len(users), generator=torch.Generator().manual_seed(1))
    flops = flops_per_epoch(forward_backward, list(users[order].split(config.batch_size)[:10]), steps)
    params = sum(p.numel() for p in encoder.parameters())
    return {"seconds": result.history[-1]["train_seconds"], "flops": flops,
            "bytes": params * ADAM_BYTES_PER_PARAMETER * steps, "steps": steps}


def evaluate_row(split, device: torch.device) -> dict[str, float]:
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=split.dataset.num_items).to(device).eval()
    run = lambda: rank_full(encoder_scorer(encoder), split, "test", device=device)  # noqa: E731
    run()  # warm-up
    sync(device)
    t0 = time.perf_counter()
    run()
    sync(device)
    seconds = time.perf_counter() - t0
    users, width = len(split.test_targets), split.dataset.num_items + 2
    return {"seconds": seconds, "flops": count_flops(run), "bytes": users * width * 4 * 2, "steps": 1}


def attention_step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, name: str,
                   backward: bool) -> None:
    """One attention call of ``name`` (and its backward pass when ``backward``)."""
    out = attention(q, k, v, mask, implementation=name)
    if backward:
        out.sum().backward()


def attention_rows(lengths: list[int], device: torch.device, tokens: int) -> list[tuple]:
    rows = []
    for length in lengths:
        batch = max(1, tokens // length)
        items = torch.randint(1, 100, (batch, length), device=device)
        items[: batch // 2, : length // 2] = 0
        mask = attention_mask(items, causal=True)
        for name, backward in [(n, b) for b in (False, True) for n in ("eager", "sdpa", "flex")]:
            if name == "flex" and backward and device.type == "cpu":
                continue  # torch has no CPU backward for FlexAttention
            q, k, v = (torch.randn(batch, 2, length, 32, device=device, requires_grad=backward) for _ in range(3))

            step = functools.partial(attention_step, q, k, v, mask, name, backward)
            try:
                step()  # warm-up (and compilation)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                sync(device)
                t0 = time.perf_counter()
                for _ in range(5):
                    step()
                sync(device)
                seconds = (time.perf_counter() - t0) / 5
                peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
                rows.append((length, batch, name, "fwd+bwd" if backward else "fwd", seconds, peak))
            except torch.OutOfMemoryError:
                rows.append((length, batch, name, "fwd+bwd" if backward else "fwd", float("nan"), float("inf")))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense peak in TFLOP/s (for the limit column)")
    parser.add_argument("--peak-gbps", type=float, help="the device's memory bandwidth in GB/s")
    parser.add_argument("--attention-lengths", default="1024,2048")
    parser.add_argument("--attention-tokens", type=int, default=65536, help="B x L of each attention batch")
    parser.add_argument("--skip-training", action="store_true", help="only evaluation and attention")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    device = torch.device(args.device)
    dataset = ssrec.load_dataset(Path(args.data))
    split = leave_one_out(dataset, 50)
    rows: list[tuple[str, str, dict[str, float]]] = []
    if not args.skip_training:
        for precision in ("fp32", "bf16"):
            rows.append(("pretrain", precision, pretrain_row(dataset, device, precision)))
            rows.append(("finetune", precision, finetune_row(split, device, precision)))
            rows.append(("finetune-ce", precision, finetune_row(split, device, precision, "ce")))
    rows.append(("evaluate", "fp32", evaluate_row(split, device)))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"\n{dataset.describe()}; device {device} ({name}); torch {torch.__version__}")
    print(f"{'task':<12}{'prec':<6}{'seconds':>9}{'GFLOP':>9}{'GB':>8}{'limit s':>9}{'steps':>7}"
          f"{'target (H100/H200)':>20}  reference")
    for task, precision, r in rows:
        who, seconds, target = REFERENCE[task]
        limit = max(r["flops"] / (args.peak_tflops * 1e12) if args.peak_tflops else 0.0,
                    r["bytes"] / (args.peak_gbps * 1e9) if args.peak_gbps else 0.0)
        reference = f"{who}: {seconds:g} s on an H100" if seconds else ""
        print(f"{task:<12}{precision:<6}{r['seconds']:>9.3f}{r['flops'] / 1e9:>9.1f}{r['bytes'] / 1e9:>8.2f}"
              f"{(f'{limit:.4f}' if limit else '-'):>9}{r['steps']:>7d}{target:>20g}  {reference}")
    lengths = [int(x) for x in args.attention_lengths.split(",") if x]
    if lengths:
        print("\nattention, causal, half the rows half padding, heads 2 x 32; "
              f"{args.attention_tokens} tokens per batch")
        print(f"{'L':>6}{'B':>6}  {'impl':<6}{'pass':<9}{'ms':>10}{'peak GiB':>10}{'vs eager':>10}")
        timings = attention_rows(lengths, device, args.attention_tokens)
        eager = {(L, p): s for L, _, n, p, s, _ in timings if n == "eager"}
        for L, B, n, p, s, peak in timings:
            ratio = eager.get((L, p), float("nan")) / s if s == s else float("nan")
            print(f"{L:>6}{B:>6}  {n:<6}{p:<9}{s * 1e3:>10.2f}{peak:>10.2f}{ratio:>9.1f}x")


if __name__ == "__main__":
    main()
