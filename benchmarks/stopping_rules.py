"""Early-stopping rules replayed on whole fine-tuning curves (``benchmarks/finetune_curves.py``).

Training up to epoch E does not depend on when a rule would stop, so each curve tells, for every rule, the
epoch it stops after, the epoch it selects (the best validation value until then) and the test metric that
run reports. A curve that a rule does not stop within is reported as running to the curve's end (marked +).

    python benchmarks/stopping_rules.py benchmarks/results/curves-*.csv
    python benchmarks/stopping_rules.py --grid benchmarks/results/curves-*.csv   # every candidate, summarised
"""
from __future__ import annotations

import argparse
import csv
import itertools
from collections import defaultdict
from pathlib import Path

from ssrec.training.stopping import RULES, EarlyStopping

TEST = {"NDCG@20": "test_NDCG@10", "MRR": "test_HR@10"}  # the test metric reported per validation metric


def load(paths: list[Path]) -> dict[tuple[str, ...], list[dict[str, str]]]:
    """Curves by (dataset, model, batches, loss, seed), in epoch order."""
    curves: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for path in paths:
        for row in csv.DictReader(path.open()):
            curves[(row["dataset"], row["model"], row["batches"], row["loss"], row["seed"])].append(row)
    return {key: sorted(rows, key=lambda r: int(r["epoch"])) for key, rows in curves.items()}


def replay(rule: EarlyStopping, rows: list[dict[str, str]]) -> tuple[int, bool, int, float]:
    """(epochs run, stopped within the curve, selected epoch, its test metric) of ``rule`` on one curve."""
    values = [float(r["valid"]) for r in rows]
    stop = rule.stop_epoch(values)
    run = stop or len(values)
    selected = max(range(run), key=lambda i: (values[i], -i))  # the first epoch with the maximum
    column = TEST[rows[0]["valid_metric"]]
    return run, stop is not None, selected + 1, float(rows[selected][column])


def candidates() -> dict[str, EarlyStopping]:
    grid = {name: rule for name, rule in RULES.items()}
    for patience, tolerance, min_epochs in itertools.product((10, 20, 30), (0.0, 0.01, 0.02, 0.05), (0, 40)):
        rule = EarlyStopping(patience, min_epochs, tolerance)
        grid.setdefault(f"p{patience} tol{tolerance:g} min{min_epochs}", rule)
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--grid", action="store_true", help="summarise every candidate rule, not only the named ones")
    parser.add_argument("--show", default="", help="comma-separated candidate names whose per-curve rows to print")
    args = parser.parse_args()
    curves = {key: rows for key, rows in load(args.csv).items() if key[2] == "bucketed"}
    grid = candidates()
    shown = {name for name in args.show.split(",") if name}
    rules = grid if args.grid or shown else dict(RULES)
    print("| curve | epochs | rule | stops after | selects | test | of the curve's best |")
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for key, rows in sorted(curves.items()):
        _, _, _, best_test = replay(EarlyStopping(len(rows) + 1), rows)  # never stops: the curve's best epoch
        released_run = replay(RULES["released"], rows)[0]
        for name, rule in rules.items():
            run, stopped, selected, test = replay(rule, rows)
            summary[name].append((test / best_test, run, run - released_run))
            if (not args.grid and not shown) or name in shown:
                metric = TEST[rows[0]["valid_metric"]].removeprefix("test_")
                print(f"| {' '.join(key[:2])} seed {key[4]} | {len(rows)} | {name} | {run}{'' if stopped else '+'} | "
                      f"{selected} | {metric} {test:.4f} | {test / best_test:.3f} |")
    print("\n| rule | worst share of the curve's best | mean share | mean epochs | mean extra epochs vs released |")
    print("|---|---|---|---|---|")
    for name, values in sorted(summary.items(), key=lambda kv: (-min(v[0] for v in kv[1]),
                                                                 sum(v[1] for v in kv[1]))):
        shares = [v[0] for v in values]
        print(f"| {name} | {min(shares):.3f} | {sum(shares) / len(shares):.3f} | "
              f"{sum(v[1] for v in values) / len(values):.0f} | {sum(v[2] for v in values) / len(values):+.0f} |")


if __name__ == "__main__":
    main()
