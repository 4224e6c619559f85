"""The tables commands print: test metrics per model and protocol, and a pre-training's objective losses."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ssrec.evaluation.ranking import METRICS as TABLE_METRICS


def format_table(rows: list[tuple[str, str, dict[str, float]]]) -> str:
    """A fixed-width table: one row per (model, protocol) with the standard metrics."""
    width = max([22, *(len(model) for model, _, _ in rows)])
    head = f"{'model':<{width}} {'protocol':<8} " + " ".join(f"{m:>8}" for m in TABLE_METRICS)
    lines = [head, "-" * len(head)]
    for model, protocol, metrics in rows:
        lines.append(f"{model:<{width}} {protocol:<8} "
                     + " ".join(f"{metrics.get(m, float('nan')):>8.4f}" for m in TABLE_METRICS))
    return "\n".join(lines)


def pretrain_summary(record: dict[str, Any], path: Path, backbone: str) -> str:
    """The end-of-pretraining table: each objective's weight and its loss in the first and last epoch."""
    first, last = record["history"][0], record["history"][-1]
    objectives = record["config"]["objectives"]
    resumed = record.get("resumed_after", 0)
    this_run = f"{record['epochs_run'] - resumed} in this run, " if resumed else ""
    lines = [f"{path}: {backbone} pre-trained {record['epochs_run']} epochs ({this_run}{record['seconds']:.1f}s, "
             f"{record['samples_per_epoch']} samples per epoch)", "",
             f"{'objective':<14} {'weight':>7} {'first epoch':>12} {'last epoch':>12}", "-" * 48]
    for name in objectives:
        lines.append(f"{name:<14} {objectives[name]['weight']:>7g} {first[name]:>12.4g} {last[name]:>12.4g}")
    lines.append(f"{'weighted sum':<14} {'':>7} {first['loss']:>12.4g} {last['loss']:>12.4g}")
    return "\n".join(lines)
