"""``ssrec plot DIR`` on a search folder: the optimisation history and the parameter importances, as one PNG.

Read from the study recorded in ``DIR/tune.json``; the importances are Optuna's (fANOVA) over the complete
trials. Needs the ``tune`` and ``plot`` extras.
"""
from __future__ import annotations

import json
from pathlib import Path

from ssrec.atomic import atomic_write
from ssrec.extras import require


def is_search_folder(folder: Path) -> bool:
    return (folder / "tune.json").is_file()


def plot_search(folder: str | Path, out: str | Path | None = None) -> Path:
    """Draw the search in ``folder`` into ``out`` (default ``folder/search.png``); the PNG's path."""
    require("matplotlib", "plot", "ssrec plot").use("Agg")
    plt = require("matplotlib.pyplot", "plot", "ssrec plot")
    optuna = require("optuna", "tune", "ssrec plot of a search")
    folder = Path(folder)
    record = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    study = optuna.load_study(study_name=record["study"], storage=record["storage"])
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise ValueError(f"{folder}: no complete trial to draw yet")
    fig, (history, importance) = plt.subplots(1, 2, figsize=(12, 4.2))
    numbers = [t.number for t in complete]
    values = [t.value for t in complete]
    best = [max(values[: i + 1]) for i in range(len(values))]
    history.scatter(numbers, values, s=16, label="complete trial")
    history.step(numbers, best, where="post", color="C3", label="best so far")
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED and t.intermediate_values]
    if pruned:
        history.scatter([t.number for t in pruned], [max(t.intermediate_values.values()) for t in pruned], s=12,
                        marker="x", color="grey", label="pruned (best epoch reached)")
    history.set(title="optimisation history", xlabel="trial", ylabel=f"valid {record['metric']}")
    history.legend(fontsize=8)
    if len(complete) > 1 and complete[0].params:
        scores = optuna.importance.get_param_importances(study)
        names = list(scores)[::-1]
        importance.barh(names, [scores[n] for n in names])
        importance.set(title="parameter importances (fANOVA)", xlabel="importance")
    else:
        importance.set_axis_off()
        importance.text(0.5, 0.5, "importances need two or more complete trials", ha="center")
    fig.suptitle(f"study {record['study']}: {len(complete)} complete trials")
    fig.tight_layout()
    target = Path(out) if out else folder / "search.png"
    atomic_write(target, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return target
