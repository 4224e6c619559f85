"""Reproduce the paper's SASRec row (no pre-training) and print it beside the published numbers.

    python benchmarks/reproduce_sasrec.py --dataset lastfm --data-dir ../shared/data
    python benchmarks/reproduce_sasrec.py --dataset beauty --data-dir ../shared/data --loss ce

Runs ``ssrec finetune`` (released hyper-parameters: hidden 64, 2 layers, 2 heads, dropout 0.5,
Adam 1e-3, batch 256, patience 10) for each requested protocol and prints one table.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ssrec.plugins import list_losses
from ssrec.runs import execute
from ssrec.runs.folder import Reuse
from ssrec.runs.report import format_table
from ssrec.runs.spec import DataSpec, FinetuneSpec, ProtocolSpec, RunSpec

PUBLISHED = {  # SASRec rows of the S3-Rec paper (REFERENCE.md)
    ("beauty", "sampled"): {"HR@1": 0.1870, "HR@5": 0.3741, "HR@10": 0.4696, "NDCG@5": 0.2848, "NDCG@10": 0.3156,
                            "MRR": 0.2852},
    ("beauty", "full"): {"HR@10": 0.0605, "NDCG@10": 0.0318, "HR@20": 0.0902, "NDCG@20": 0.0394},
    ("lastfm", "sampled"): {"HR@1": 0.1211, "HR@5": 0.3385, "NDCG@5": 0.2330, "HR@10": 0.4706, "NDCG@10": 0.2755,
                            "MRR": 0.2364},
}
FILES = {"beauty": ("beauty/Beauty.txt", None), "lastfm": ("lastfm/LastFM.txt", "lastfm/LastFM_sample.txt")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(FILES), required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--protocols", default=None, help="comma-separated; default: those published")
    parser.add_argument("--loss", choices=list_losses(), default="bce")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=10, help="released: 10")
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    data_file, negatives = FILES[args.dataset]
    protocols = args.protocols.split(",") if args.protocols else [p for (d, p) in PUBLISHED if d == args.dataset]
    rows = []
    for protocol in protocols:
        out = Path(args.out) / f"{args.dataset}-sasrec-{args.loss}-{protocol}-p{args.patience}-seed{args.seed}"
        fixed = str(Path(args.data_dir) / negatives) if protocol == "sampled" and negatives else None
        spec = RunSpec(data=DataSpec(str(Path(args.data_dir) / data_file)), seed=args.seed, device=args.device,
                       finetune=FinetuneSpec(loss=args.loss, epochs=args.epochs, patience=args.patience),
                       protocol=ProtocolSpec(protocol, fixed))
        record = execute.finetune_run(spec, out, Reuse.OVERWRITE).record
        rows.append((f"ssrec sasrec {args.loss} p{args.patience}", protocol, record["metrics"]))
        if (args.dataset, protocol) in PUBLISHED:
            rows.append(("paper SASRec", protocol, PUBLISHED[(args.dataset, protocol)]))
        logging.getLogger("reproduce").info("%s: best epoch %d of %d, %.0fs", protocol, record["best_epoch"],
                                            record["epochs_run"], record["seconds"])
    print(format_table(rows))


if __name__ == "__main__":
    main()
