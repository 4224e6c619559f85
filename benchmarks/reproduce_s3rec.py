"""Reproduce the S3-Rec paper's table for one data set, and its ablation (Fig. 2), beside the published numbers.

    python benchmarks/reproduce_s3rec.py --dataset lastfm --pretrain-epochs 50
    python benchmarks/reproduce_s3rec.py --dataset beauty --rows sasrec,s3rec --protocols full,sampled
    python benchmarks/reproduce_s3rec.py --dataset lastfm --rows ablation --pretrain-epochs 20

Rows (``--rows``, comma-separated):
- ``sasrec``: fine-tuning from scratch (SASRec), released settings.
- ``s3rec``: ssrec's own pre-training with AAP, MIP, MAP and SP (released weights, batch 100, seed 42),
  then the same fine-tuning from the pre-trained weights.
- ``authors``: fine-tuning from the authors' released pre-trained checkpoint (``--checkpoints``).
- ``ablation``: pre-training with each objective removed in turn ("-AAP", ...), then fine-tuning.
Each step is an ``ssrec`` command, so every run folder under ``--out`` can be inspected or repeated.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ssrec.io.released_checkpoint import import_released_checkpoint
from ssrec.runs.report import format_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduction import FILES, Steps  # noqa: E402

PUBLISHED = {  # the S3-Rec paper (REFERENCE.md)
    ("beauty", "sampled", "SASRec"): {"HR@1": 0.1870, "HR@5": 0.3741, "HR@10": 0.4696, "NDCG@5": 0.2848,
                                      "NDCG@10": 0.3156, "MRR": 0.2852},
    ("beauty", "sampled", "S3-Rec"): {"HR@1": 0.2192, "HR@5": 0.4502, "HR@10": 0.5506, "NDCG@5": 0.3407,
                                      "NDCG@10": 0.3732, "MRR": 0.3340},
    ("beauty", "full", "SASRec"): {"HR@10": 0.0605, "NDCG@10": 0.0318, "HR@20": 0.0902, "NDCG@20": 0.0394},
    ("beauty", "full", "S3-Rec"): {"HR@10": 0.0647, "NDCG@10": 0.0327, "HR@20": 0.0994, "NDCG@20": 0.0414},
    ("lastfm", "sampled", "SASRec"): {"HR@1": 0.1211, "HR@5": 0.3385, "NDCG@5": 0.2330, "HR@10": 0.4706,
                                      "NDCG@10": 0.2755, "MRR": 0.2364},
    ("lastfm", "sampled", "S3-Rec"): {"HR@1": 0.1743, "HR@5": 0.4523, "NDCG@5": 0.3156, "HR@10": 0.5835,
                                      "NDCG@10": 0.3583, "MRR": 0.3072},
}
OBJECTIVES = ("aap", "mip", "map", "sp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(FILES), required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--checkpoints", default="../shared/checkpoints")
    parser.add_argument("--rows", default="sasrec,s3rec", help="sasrec, s3rec, authors, ablation")
    parser.add_argument("--protocols", default=None, help="comma-separated; default: those published")
    parser.add_argument("--pretrain-epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=10, help="fine-tuning early stopping (released: 10)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/reproduce-s3rec")
    parser.add_argument("--reuse", action="store_true", help="reuse finished run folders instead of training again")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    protocols = (args.protocols.split(",") if args.protocols
                 else sorted({p for (d, p, _) in PUBLISHED if d == args.dataset}))
    rows_wanted = args.rows.split(",")
    steps = Steps(args.dataset, Path(args.data_dir), Path(args.out) / args.dataset, args.seed, args.device,
                  args.patience, args.reuse)
    epochs = args.pretrain_epochs

    def pretrained(objectives: tuple[str, ...]) -> str:
        return steps.pretrain("-".join(objectives), "transformer", ",".join(objectives), epochs)

    table = []
    for protocol in protocols:
        if "sasrec" in rows_wanted:
            table.append(("ssrec SASRec", protocol, steps.finetune("sasrec", "sasrec", protocol, None)))
            if (args.dataset, protocol, "SASRec") in PUBLISHED:
                table.append(("paper SASRec", protocol, PUBLISHED[(args.dataset, protocol, "SASRec")]))
        if "s3rec" in rows_wanted:
            table.append((f"ssrec S3-Rec e{epochs}", protocol,
                          steps.finetune(f"s3rec-e{epochs}", "transformer", protocol, pretrained(OBJECTIVES))))
        if "authors" in rows_wanted:
            imported = steps.root / "authors-checkpoint.pt"
            if not imported.exists():
                import_released_checkpoint(Path(args.checkpoints) / FILES[args.dataset][2], imported)
            table.append(("authors' S3-Rec ckpt", protocol,
                          steps.finetune("authors", "transformer", protocol, str(imported))))
        if ("s3rec" in rows_wanted or "authors" in rows_wanted) and (args.dataset, protocol, "S3-Rec") in PUBLISHED:
            table.append(("paper S3-Rec", protocol, PUBLISHED[(args.dataset, protocol, "S3-Rec")]))
        if "ablation" in rows_wanted:
            for removed in OBJECTIVES:
                kept = tuple(o for o in OBJECTIVES if o != removed)
                table.append((f"ssrec -{removed.upper()} e{epochs}", protocol,
                               steps.finetune(f"without-{removed}-e{epochs}", "transformer", protocol,
                                              pretrained(kept))))
    print(format_table(table))


if __name__ == "__main__":
    main()
