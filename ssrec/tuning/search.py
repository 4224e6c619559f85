"""``ssrec tune``: a hyper-parameter search over a run spec, on Optuna.

Each trial is the base spec with the space's values filled in (``ssrec.tuning.space``), fine-tuned into its
own run folder ``DIR/trial-NNNN`` (spec, log, metrics) and scored by the best validation value of the
protocol's metric; pruning reads that metric after every epoch. The test split is never looked at during
the search: the best trial's test metrics are computed once, at the end.

The study lives in a database (``DIR/study.db``, SQLite, unless ``storage`` names any SQLAlchemy URL), so a
killed tuner continues where it stopped when run again, and several processes (or machines sharing a
database server) work on one study together. Every running trial beats a heartbeat; one silent for twice
its interval (a killed worker's) is marked failed. ``trials`` counts the study's finished (complete or
pruned) trials over all workers and restarts: a worker about to start a trial beyond that count waits for
the trials still running before it, and stops when they finish it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssrec.extras import require
from ssrec.runs import execute
from ssrec.runs.config_file import write_config
from ssrec.runs.folder import Reuse, write_json
from ssrec.runs.spec import RunSpec, spec_to_dict
from ssrec.tuning.pretrain_cache import pretrained_checkpoint
from ssrec.tuning.space import Dimension, apply_values

log = logging.getLogger(__name__)
PRUNERS = ("median", "hyperband", "none")
SAMPLERS = ("tpe", "grid", "random")


class SurplusTrial(Exception):
    """A trial asked for after the study already has its trials; it is recorded as failed and not run."""


@dataclass(frozen=True)
class TuneConfig:
    """How the search runs (the what is the base spec and the space)."""

    trials: int = 20  # finished trials the study should hold, over all workers
    timeout: float | None = None  # seconds this worker may spend
    study: str = "ssrec"
    storage: str | None = None  # None: sqlite:///DIR/study.db
    pruner: str = "median"
    sampler: str = "tpe"  # grid: every combination of the choices and integer ranges (RecBole's exhaustive search)
    seed: int | None = None  # the sampler's; give workers sharing a study different seeds
    heartbeat: int = 10  # seconds between a running trial's liveness signals

    def __post_init__(self) -> None:
        if not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"--trials must be an integer >= 1, got {self.trials!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"--sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"--pruner must be one of {', '.join(PRUNERS)}, got {self.pruner!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"--timeout must be > 0 seconds, got {self.timeout!r}")


@dataclass
class TuneOutcome:
    rows: list[dict[str, Any]]  # one per trial: number, state, params, value, seconds
    best: dict[str, Any] | None  # number, params, valid, test metrics, folder, spec file
    seconds: float


def storage_url(out: Path, storage: str | None) -> str:
    return storage or f"sqlite:///{(out / 'study.db').resolve()}"


def open_study(optuna: Any, out: Path, config: TuneConfig, direction: str = "maximize",
               identity: dict[str, Any] | None = None, dimensions: tuple[Dimension, ...] = ()) -> Any:
    """The study ``config.study`` in its storage (created, or joined); one started with another base spec or
    space is refused."""
    url = storage_url(out, config.storage)
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    storage = optuna.storages.RDBStorage(url, heartbeat_interval=config.heartbeat, engine_kwargs=engine)
    if config.sampler == "grid":
        sampler = optuna.samplers.GridSampler(grid_space(dimensions), seed=config.seed)
    elif config.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=config.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=config.seed)
    pruner = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
              "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=5),
              "none": lambda: optuna.pruners.NopPruner()}[config.pruner]()
    study = optuna.create_study(study_name=config.study, storage=storage, sampler=sampler, pruner=pruner,
                                direction=direction, load_if_exists=True)
    if identity is not None:
        kept = study.user_attrs.get("identity")
        if kept is None:
            study.set_user_attr("identity", identity)
        elif kept != identity:
            raise ValueError(f"study {config.study!r} in {url} searches another base spec or space; give another "
                             "--study (or --out)")
    return study


def tune(base: RunSpec, dimensions: tuple[Dimension, ...], out: Path, config: TuneConfig,
         progress: Callable[[str], None] | None = None) -> TuneOutcome:
    """Run (or join, or continue) the search; the trials table and the best trial, tested once."""
    optuna = require("optuna", "tune", "ssrec tune")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # fail_stale_trials, heartbeat
    out.mkdir(parents=True, exist_ok=True)
    identity = {"base": spec_to_dict(base), "space": [dataclasses.asdict(d) for d in dimensions]}
    with _creation_lock(out):  # two workers creating one SQLite schema at once would collide
        study = open_study(optuna, out, config, identity=json.loads(json.dumps(identity)), dimensions=dimensions)
    metric = base.protocol.metric
    epoch_choices = _epoch_choices(dimensions)
    start = time.perf_counter()
    finished_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

    def objective(trial: Any) -> float:
        _wait_for_room(optuna, study, trial, config)
        values = {d.key: d.suggest(trial) for d in dimensions}
        repeated = _complete_with(optuna, study, values)
        if repeated is not None:  # the same settings and seed train the same model: reuse its value
            trial.set_user_attr("repeat_of", repeated.number)
            return float(repeated.value)
        spec = apply_values(base, values)
        folder = out / f"trial-{trial.number:04d}"
        trial.set_user_attr("folder", str(folder))
        trial.set_user_attr("spec", spec_to_dict(spec))
        t0 = time.perf_counter()
        run_spec = spec
        if spec.pretrain is not None:  # served from the shared pre-training
            checkpoint = pretrained_checkpoint(spec, epoch_choices, out / "pretrain-cache")
            trial.set_user_attr("pretrain_seconds", round(time.perf_counter() - t0, 2))
            assert spec.finetune is not None
            run_spec = dataclasses.replace(spec, pretrain=None,
                                           finetune=dataclasses.replace(spec.finetune, init=str(checkpoint)))

        def report(epoch: int, logs: dict[str, float]) -> None:
            trial.report(logs[f"valid_{metric}"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        try:
            outcome = execute.finetune_run(run_spec, folder, Reuse.OVERWRITE, on_epoch_end=report, test=False)
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - t0, 2))
        return float(outcome.result.valid_metrics[metric])

    def announce(study: Any, trial: Any) -> None:
        if trial.user_attrs.get("surplus"):
            study.stop()
            return
        done = _finished(study, finished_states)
        text = (f"trial {trial.number}: {trial.state.name.lower()}"
                + (f", valid {metric} {trial.value:.4f}" if trial.value is not None else "")
                + f"; {done}/{config.trials} trials done")
        (progress or log.info)(text)
        if done >= config.trials:
            study.stop()

    deadline = None if config.timeout is None else time.monotonic() + config.timeout
    done = _finished(study, finished_states)
    while done < config.trials:  # again while it gains: the grid sampler stops once each point was tried,
        left = None if deadline is None else deadline - time.monotonic()  # a failed (killed) one included
        if left is not None and left <= 0:
            break
        study.optimize(objective, timeout=left, callbacks=[announce], catch=(SurplusTrial,), gc_after_trial=True)
        before, done = done, _finished(study, finished_states)
        if done == before:
            break
    rows = trial_rows(study, metric)
    best = _best(optuna, study, base, out, metric)
    return TuneOutcome(rows, best, time.perf_counter() - start)


@contextlib.contextmanager
def _creation_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.tune-lock`` while the storage and the study are created or joined (workers on this machine)."""
    import fcntl

    with open(out / ".tune-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _complete_with(optuna: Any, study: Any, values: dict[str, Any]) -> Any:
    """A complete trial with exactly these values, if any (samplers may ask for a combination twice)."""
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if t.params == values and "folder" in t.user_attrs:
            return t
    return None


def _finished(study: Any, states: tuple[Any, ...]) -> int:
    return sum(t.state in states for t in study.get_trials(deepcopy=False))


def _wait_for_room(optuna: Any, study: Any, trial: Any, config: TuneConfig) -> None:
    """Let ``trial`` run only while the study, counting the trials numbered before it, is short of its trials."""
    states = optuna.trial.TrialState
    while True:
        optuna.storages.fail_stale_trials(study)
        before = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
        finished = sum(t.state in (states.COMPLETE, states.PRUNED) for t in before)
        running = sum(t.state == states.RUNNING for t in before)
        if finished >= config.trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"the study already has its {config.trials} trials")
        if finished + running < config.trials:
            return
        time.sleep(config.heartbeat)  # trials before this one may still finish the study, or die


def grid_space(dimensions: tuple[Dimension, ...]) -> dict[str, list[Any]]:
    """Every value of every dimension, for the grid sampler (choices and integer ranges only)."""
    grid = {}
    for d in dimensions:
        if d.kind == "choice":
            grid[d.key] = list(d.values)
        elif d.kind == "range":
            low, high, step = d.values
            grid[d.key] = list(range(low, high + 1, step))
        else:
            raise ValueError(f"--sampler grid takes choice and range keys only; {d.key} is {d.kind}")
    return grid


def _epoch_choices(dimensions: tuple[Dimension, ...]) -> tuple[int, ...]:
    for d in dimensions:
        if d.key == "pretrain.epochs":
            if d.kind == "choice":
                return tuple(int(v) for v in d.values)
            if d.kind == "range":
                low, high, step = d.values
                return tuple(range(low, high + 1, step))
    return ()


def trial_rows(study: Any, metric: str) -> list[dict[str, Any]]:
    """One row per trial (not the surplus ones): number, state, params, validation value, seconds."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus"):
            continue
        rows.append({"number": t.number, "state": t.state.name.lower(), "params": t.params,
                     f"valid_{metric}": t.value, "seconds": t.user_attrs.get("seconds"),
                     "pretrain_seconds": t.user_attrs.get("pretrain_seconds"),
                     "repeat_of": t.user_attrs.get("repeat_of"),
                     "epochs": max(t.intermediate_values, default=None)})
    return rows


def _best(optuna: Any, study: Any, base: RunSpec, out: Path, metric: str) -> dict[str, Any] | None:
    """The best complete trial, its test metrics (computed here, once) and its spec as ``DIR/best-config.toml``."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return None
    trial = max((t for t in complete if "repeat_of" not in t.user_attrs), key=lambda t: (t.value, -t.number))
    record_path = out / "best.json"
    if record_path.exists():
        kept = json.loads(record_path.read_text())
        if kept.get("number") == trial.number:
            return dict(kept)
    from ssrec.runs.spec import spec_from_dict

    spec = spec_from_dict(trial.user_attrs["spec"], where=f"trial {trial.number}")
    folder = Path(trial.user_attrs["folder"])
    evaluated = execute.evaluate_checkpoint(folder / "model.pt", spec, "test")
    best = {"number": trial.number, "params": trial.params, f"valid_{metric}": trial.value,
            "test": evaluated["metrics"], "folder": str(folder), "config": str(out / "best-config.toml")}
    write_config(out / "best-config.toml", spec, "run" if spec.pretrain is not None else "finetune")
    write_json(record_path, best)
    return best


def format_trials(rows: list[dict[str, Any]], metric: str) -> str:
    """The trials as a plain-text table."""
    keys = sorted({k for r in rows for k in r["params"]})
    head = ["trial", "state", *keys, f"valid {metric}", "epochs", "seconds"]
    lines = [head]
    for r in rows:
        value = r[f"valid_{metric}"]
        state = r["state"] if r.get("repeat_of") is None else f"repeat of {r['repeat_of']}"
        lines.append([str(r["number"]), state, *(_fmt(r["params"].get(k)) for k in keys),
                      "" if value is None else f"{value:.4f}", "" if r["epochs"] is None else str(r["epochs"]),
                      "" if r["seconds"] is None else f"{r['seconds']:.1f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if value and (abs(value) < 1e-3 or abs(value) >= 1e4) else f"{value:g}"
    return "" if value is None else str(value)


__all__ = ["PRUNERS", "TuneConfig", "TuneOutcome", "format_trials", "trial_rows", "tune"]
