"""Per-operator profile of training steps on real batches: where a step's time goes.

    python benchmarks/profile_step.py --data ../shared/data/beauty/Beauty.txt --stage pretrain
    python benchmarks/profile_step.py --stage pretrain --precision bf16 --group-by-shape
    python benchmarks/profile_step.py --stage finetune --loss ce --steps 50

Warms up on ``--warmup`` bucketed batches (bf16 kernels are generated per shape on the CPU, so warm up long),
times ``--steps`` more, then profiles as many again with ``torch.profiler`` and prints the operators by
self time, with the mean step time and the FLOPs per step (``FlopCounterMode``) beside it, and the step's
phases (forward with the loss, backward, optimizer) timed without the profiler.

Read the operator shares with care: the profiler adds a fixed cost to every op, so at S3-Rec's widths, where a
step is ~1,100 small ATen ops, it inflates the small ones. A Beauty pre-training step took 82 ms under the profiler
against 28-34 ms timed (one thread, idle), and fusing the elementwise ops it ranked high (GELU, dropout's
uniform_, LayerNorm, softmax, in C++ kernels; not adopted) changed the timed step by
0.98-1.02x.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

import ssrec
from ssrec.data.batching import bucketed_batches, trim_leading_padding
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.data.split import leave_one_out
from ssrec.training.composition import compose
from ssrec.training.finetuning import FinetuneConfig, build_loss
from ssrec.training.optim import adam
from ssrec.training.precision import autocast


def step_function(args: argparse.Namespace):
    """(a function running one training step on a batch of row indices, the epoch's batches)."""
    dataset = ssrec.load_dataset(args.data)
    device = torch.device("cpu")
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if args.stage == "pretrain":
        model = compose(ssrec.create_backbone("transformer", num_items=dataset.num_items), ["aap", "mip", "map", "sp"],
                        dataset).train()
        data = pretrain_samples(dataset, 50)
        lengths, batch_size = data.lengths, 100

        def forward(rows: torch.Tensor) -> torch.Tensor:
            return model(data.batch(rows), data, g)[0]
    else:
        split = leave_one_out(dataset, 50)
        model = ssrec.create_backbone("sasrec", num_items=dataset.num_items).train()
        loss_fn = build_loss(FinetuneConfig(loss=args.loss), split, device)
        lengths, batch_size = (split.train_targets > 0).sum(dim=1), 256

        def forward(rows: torch.Tensor) -> torch.Tensor:
            x, y = trim_leading_padding(split.train_inputs[rows], split.train_targets[rows])
            return loss_fn(model.encode(x, causal=True), y, rows, model.item_embeddings.weight, g)
    optimizer = adam(model.parameters(), lr=1e-3, weight_decay=0.0, device=device)

    def step(rows: torch.Tensor, phases: dict[str, float] | None = None) -> None:
        t0 = time.perf_counter()
        with autocast(device, args.precision):
            loss = forward(rows)
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        if phases is not None:
            for name, seconds in (("forward", t1 - t0), ("backward", t2 - t1), ("optimizer", time.perf_counter() - t2)):
                phases[name] = phases.get(name, 0.0) + seconds

    order = torch.Generator().manual_seed(0)
    batches = [b for b in bucketed_batches(lengths, batch_size, order) if lengths[b].max() > 0]
    return step, batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/beauty/Beauty.txt")
    parser.add_argument("--stage", choices=("pretrain", "finetune"), default="pretrain")
    parser.add_argument("--loss", default="bce", help="fine-tuning loss")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rows", type=int, default=30, help="operators to list")
    parser.add_argument("--group-by-shape", action="store_true")
    args = parser.parse_args()
    step, batches = step_function(args)
    for rows in batches[:args.warmup]:
        step(rows)
    timed = batches[args.warmup:args.warmup + args.steps]
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    for rows in timed:
        step(rows, phases)
    per_step = (time.perf_counter() - t0) / len(timed)
    with FlopCounterMode(display=False) as counter:
        for rows in timed[:10]:
            step(rows)
    profiled = batches[args.warmup + args.steps:args.warmup + 2 * args.steps]
    with profile(activities=[ProfilerActivity.CPU], record_shapes=args.group_by_shape) as prof:
        for rows in profiled:
            step(rows)
    print(prof.key_averages(group_by_input_shape=args.group_by_shape).table(sort_by="self_cpu_time_total",
                                                                           row_limit=args.rows))
    print(f"{args.stage} ({args.precision}{', ' + args.loss if args.stage == 'finetune' else ''}): "
          f"{per_step * 1e3:.1f} ms per step over {len(timed)} steps, {counter.get_total_flops() / 10 / 1e9:.2f} "
          f"GFLOP per step, {len(batches)} steps per epoch, torch threads {torch.get_num_threads()}")
    print("without the profiler, per step: " + ", ".join(f"{name} {seconds / len(timed) * 1e3:.1f} ms"
                                                          for name, seconds in phases.items()))


if __name__ == "__main__":
    main()
