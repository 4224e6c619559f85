"""The S3-Rec paper's Fig. 3: pre-training other models. Each backbone fine-tuned with and without S3-Rec.

    python benchmarks/reproduce_fig3.py --dataset lastfm --protocols sampled --pretrain-epochs 10
    python benchmarks/reproduce_fig3.py --dataset beauty --protocols full,sampled

- ``sasrec`` and ``gru4rec`` are pre-trained themselves with AAP, MIP, MAP and SP, staying unidirectional
  (their default, causal mode), then fine-tuned from all their weights.
- ``transformer`` is S3-Rec itself: pre-trained bidirectionally, fine-tuned causally (its plain version is
  the same network fine-tuned from scratch, i.e. SASRec); the reference the other rows are read against.
- ``caser`` has no per-position output, so the objectives cannot train it; as in the paper it takes the
  item embeddings of S3-Rec's pre-trained bidirectional Transformer (same hidden size), through
  ``ssrec.io.transfer``, and everything else starts fresh.
Every step is an ``ssrec`` command; run folders stay under ``--out``. Prints NDCG@10 and HR@10 side by side.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduction import FILES, Steps  # noqa: E402

#: whose pre-training each backbone starts from: itself, or (Caser) the Transformer's item embeddings
PRETRAINED_FROM = {"transformer": "transformer", "sasrec": "sasrec", "gru4rec": "gru4rec", "caser": "transformer"}


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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    steps = Steps(args.dataset, Path(args.data_dir), Path(args.out) / args.dataset, args.seed, args.device,
                  args.patience, args.reuse)
    epochs = args.pretrain_epochs
    lines = [f"{'backbone':<10} {'protocol':<8} {'NDCG@10 plain':>14} {'NDCG@10 S3-Rec':>15} {'gain':>7} "
             f"{'HR@10 plain':>12} {'HR@10 S3-Rec':>13} {'gain':>7}"]
    for protocol in args.protocols.split(","):
        for backbone in args.backbones.split(","):
            source = PRETRAINED_FROM[backbone]
            plain = steps.finetune(f"{backbone}-scratch", backbone, protocol, None)
            pre = steps.finetune(f"{backbone}-s3rec-e{epochs}", backbone, protocol,
                                 steps.pretrain(source, source, "aap,mip,map,sp", epochs))
            gains = [(pre[m] - plain[m]) / plain[m] for m in ("NDCG@10", "HR@10")]
            lines.append(f"{backbone:<10} {protocol:<8} {plain['NDCG@10']:>14.4f} {pre['NDCG@10']:>15.4f} "
                         f"{gains[0]:>+7.1%} {plain['HR@10']:>12.4f} {pre['HR@10']:>13.4f} {gains[1]:>+7.1%}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
