"""The S3-Rec paper's Fig. 3: pre-training other models. Each backbone fine-tuned with and without S3-Rec.

    python benchmarks/reproduce_fig3.py --dataset lastfm --protocols sampled --pretrain-epochs 10
    python benchmarks/reproduce_fig3.py --dataset beauty --protocols full,sampled

- ``sasrec`` and ``gru4rec`` are pre-trained themselves with AAP, MIP, MAP and SP, staying unidirectional
  (their default, causal mode), then fine-tuned from all their weights.
- ``caser`` has no per-position output, so the objectives cannot train it; as in the paper it takes the
  item embeddings of S3-Rec's pre-trained bidirectional Transformer (same hidden size), through
  ``ssrec.transfer``, and everything else starts fresh.
Every step is an ``ssrec`` command; run folders stay under ``--out``. Prints NDCG@10 and HR@10 side by side.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ssrec.cli import main as ssrec_main

FILES = {"beauty": ("beauty/Beauty.txt", None), "lastfm": ("lastfm/LastFM.txt", "lastfm/LastFM_sample.txt")}
PRETRAINED_FROM = {"sasrec": "sasrec", "gru4rec": "gru4rec", "caser": "transformer"}
log = logging.getLogger("fig3")


def run(argv: list[str]) -> None:
    if ssrec_main(argv) != 0:
        raise SystemExit(f"ssrec {' '.join(argv)} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(FILES), required=True)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--backbones", default="sasrec,gru4rec,caser")
    parser.add_argument("--protocols", default="sampled")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/fig3")
    parser.add_argument("--reuse", action="store_true", help="reuse finished run folders instead of training again")
    args = parser.parse_args()
    data_file, negatives = FILES[args.dataset]
    data = str(Path(args.data_dir) / data_file)
    root = Path(args.out) / args.dataset
    common = ["--seed", str(args.seed), "--device", args.device]

    def pretrained(backbone: str) -> str:
        out = root / f"pretrain-{backbone}-e{args.pretrain_epochs}"
        if not (args.reuse and (out / "pretrained.pt").exists()):
            run(["pretrain", "--data", data, "--backbone", backbone, "--epochs", str(args.pretrain_epochs), *common,
                 "--out", str(out), "--overwrite"])
        return str(out / "pretrained.pt")

    def finetune(backbone: str, protocol: str, init: str | None) -> dict:
        out = root / f"finetune-{backbone}-{'s3rec' if init else 'scratch'}-{protocol}-p{args.patience}"
        if not (args.reuse and (out / "metrics.json").exists()):
            argv = ["finetune", "--data", data, "--backbone", backbone, "--protocol", protocol,
                    "--patience", str(args.patience), *common, "--out", str(out), "--overwrite"]
            if init:
                argv += ["--init", init]
            if protocol == "sampled" and negatives:
                argv += ["--negatives", str(Path(args.data_dir) / negatives)]
            run(argv)
        record = json.loads((out / "metrics.json").read_text())
        log.info("%s %s %s: best epoch %d of %d, %.0fs", backbone, "s3rec" if init else "scratch", protocol,
                 record["best_epoch"], record["epochs_run"], record["seconds"])
        return record["metrics"]

    lines = [f"{'backbone':<10} {'protocol':<8} {'NDCG@10 plain':>14} {'NDCG@10 S3-Rec':>15} {'gain':>7} "
             f"{'HR@10 plain':>12} {'HR@10 S3-Rec':>13} {'gain':>7}"]
    for protocol in args.protocols.split(","):
        for backbone in args.backbones.split(","):
            plain = finetune(backbone, protocol, None)
            pre = finetune(backbone, protocol, pretrained(PRETRAINED_FROM[backbone]))
            gains = [(pre[m] - plain[m]) / plain[m] for m in ("NDCG@10", "HR@10")]
            lines.append(f"{backbone:<10} {protocol:<8} {plain['NDCG@10']:>14.4f} {pre['NDCG@10']:>15.4f} "
                         f"{gains[0]:>+7.1%} {plain['HR@10']:>12.4f} {pre['HR@10']:>13.4f} {gains[1]:>+7.1%}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
