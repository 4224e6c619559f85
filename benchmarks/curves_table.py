"""Validation curves side by side at chosen epochs, with the mean training seconds per epoch of each.

    python benchmarks/curves_table.py benchmarks/results/curves-beauty-authors-*.csv --epochs 10,40,80
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stopping_rules import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--epochs", default="10,40,80")
    args = parser.parse_args()
    epochs = [int(e) for e in args.epochs.split(",")]
    curves = load(args.csv)
    metric = next(iter(curves.values()))[0]["valid_metric"]
    print(f"| curve | {' | '.join(f'valid {metric} @{e}' for e in epochs)} | s per training epoch |")
    print("|---|" + "---|" * (len(epochs) + 1))
    for key, rows in sorted(curves.items()):
        by_epoch = {int(r["epoch"]): float(r["valid"]) for r in rows}
        seconds = sum(float(r["train_seconds"]) for r in rows) / len(rows)
        cells = [f"{by_epoch[e]:.4f}" if e in by_epoch else "" for e in epochs]
        print(f"| {key[0]} {key[1]} {key[2]} seed {key[4]} | {' | '.join(cells)} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
