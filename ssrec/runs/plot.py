"""``ssrec plot RUN_DIR``: a run folder's training and metric curves, from its log.jsonl, as one PNG.

Panels, for the stages the log holds: pre-training losses per objective (log scale, so AAP's thousands
and SP's tens share the axes), the fine-tuning loss, and the validation metrics with the best epoch
marked. matplotlib is an optional extra: ``pip install 'ssrec[plot]'``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ssrec.atomic import atomic_write
from ssrec.data.errors import DataFormatError
from ssrec.extras import require

#: validation metrics drawn, when the log has them
METRICS = ("valid_HR@10", "valid_NDCG@10", "valid_MRR", "valid_NDCG@20")
NOT_LOSSES = frozenset({"stage", "epoch", "seconds", "train_seconds", "selected_by"})


def read_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a log.jsonl; a missing file or a bad line is a DataFormatError naming it."""
    if not path.is_file():
        raise DataFormatError(path, None, "no such log (a run folder of `ssrec pretrain`, `finetune` or `run` has one)")
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, number, f"not a JSON line ({exc.msg})") from None
        if not isinstance(entry, dict) or "stage" not in entry or "epoch" not in entry:
            raise DataFormatError(path, number, "expected an object with 'stage' and 'epoch'")
        entries.append(entry)
    if not entries:
        raise DataFormatError(path, None, "the log is empty: no epoch has finished yet")
    return entries


def best_epoch(finetune_entries: list[dict[str, Any]]) -> tuple[int, str]:
    """The epoch early stopping kept (the first maximum of the metric it selected by) and that metric's name.

    Fine-tuning logs name the metric in ``selected_by`` (NDCG@20 for the full protocol, MRR for the sampled
    one, or ``FinetuneConfig.valid_metric``); a log without it is read as selected by MRR.
    """
    key = finetune_entries[-1].get("selected_by", "valid_MRR")
    best = max(finetune_entries, key=lambda e: e[key])  # max keeps the first of equal values, as early stopping does
    return int(best["epoch"]), key.removeprefix("valid_")


def plot_run(run: str | Path, out: str | Path | None = None) -> Path:
    """Draw ``run``/log.jsonl into ``out`` (default ``run/curves.png``); the PNG's path."""
    require("matplotlib", "plot", "ssrec plot").use("Agg")
    plt = require("matplotlib.pyplot", "plot", "ssrec plot")
    run = Path(run)
    entries = read_log(run / "log.jsonl")
    pre = [e for e in entries if e["stage"] == "pretrain"]
    fine = [e for e in entries if e["stage"] == "finetune"]
    panels = [p for p in (("pretrain", pre), ("finetune loss", fine), ("validation", fine)) if p[1]]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (title, rows) in zip(axes[0], panels):
        epochs = [e["epoch"] for e in rows]
        if title == "validation":
            for metric in (m for m in METRICS if m in rows[0]):
                ax.plot(epochs, [e[metric] for e in rows], label=metric.removeprefix("valid_"))
            epoch, metric = best_epoch(rows)
            ax.axvline(epoch, color="grey", linestyle=":", label=f"best epoch {epoch} ({metric})")
            ax.set_ylabel("metric")
        else:
            names = [k for k in rows[0] if k not in NOT_LOSSES and not k.startswith("valid_")]
            for name in names:
                ax.plot(epochs, [e[name] for e in rows], label=name, linewidth=2.2 if name == "loss" else 1.2)
            ax.set_yscale("log" if title == "pretrain" else "linear")
            ax.set_ylabel("loss per batch")
        ax.set_xlabel("epoch")
        ax.set_title(f"{run.name}: {title}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    target = Path(out) if out else run / "curves.png"
    atomic_write(target, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return target
