"""The benchmark grid: data set x backbone x pre-training x loss x protocol x seed, one results row per cell.

    python benchmarks/grid.py benchmarks/grids/fig3.toml                  # every missing cell, in order
    python benchmarks/grid.py benchmarks/grids/fig3.toml --only dataset=lastfm,protocol=sampled
    python benchmarks/grid.py benchmarks/grids/fig3.toml \
        --cell dataset=lastfm,backbone=sasrec,pretrain=150,loss=bce,protocol=sampled,seed=42
    python benchmarks/grid.py benchmarks/grids/fig3.toml --table          # results file -> markdown table
    python benchmarks/grid.py benchmarks/grids/fig3.toml --status         # what is left, and its compute

A grid file (TOML) names the results CSV and the values of each axis. Each finished cell appends one row to
that CSV (committed; no run folders or weights in git), with its seconds and the command that repeats it
(``--cell``, which runs the cell again and prints its figures beside the recorded ones without writing; it
fine-tunes from the grid's finished pre-training, or pre-trains again with ``--rerun-pretraining``).
A killed grid resumes: finished cells are skipped, an interrupted pre-training or fine-tuning continues from
its training state under ``--runs`` (ssrec's exact resume), a pre-training already finished there is reused. Every
pre-training runs once per (data set, backbone it trains, epochs), with ``pretrain_seed``; Caser takes the
Transformer's (``reproduce_fig3.PRETRAINED_FROM``). The seconds are recorded: run one grid alone, or several
side by side with ``OMP_NUM_THREADS=1`` each (two on two cores give 1.3x the throughput of one at two threads):
a cell another grid is running is skipped, rows are appended under a lock, and a pre-training they share runs
once while the others wait for it.

The ``pretraining`` axis holds epochs of ssrec's S3-Rec pre-training (0: none) or ``"authors"``: the S3-Rec
authors' released 150-epoch checkpoint (``--checkpoints``), for the backbones that start from the
Transformer's. An optional ``[finetune]`` table sets fine-tuning fields for every cell (``ssrec.runs.spec.
FinetuneSpec``, all but ``loss`` and ``init``, which the cell sets).
"""
from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

from ssrec.atomic import atomic_write_text
from ssrec.io.released_checkpoint import import_released_checkpoint
from ssrec.runs import execute
from ssrec.runs.config_file import read_toml
from ssrec.runs.folder import Reuse, in_use, read_log
from ssrec.runs.spec import (
    BackboneSpec,
    DataSpec,
    FinetuneSpec,
    PretrainSpec,
    ProtocolSpec,
    RunSpec,
    SpecError,
    spec_from_dict,
)
from ssrec.training.resume import state_path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reproduce_fig3 import PRETRAINED_FROM  # noqa: E402
from reproduction import FILES  # noqa: E402
from results_csv import append_row, locked, read_rows  # noqa: E402

log = logging.getLogger("grid")
AXES = {"dataset": "datasets", "backbone": "backbones", "pretrain": "pretraining", "loss": "losses",
        "protocol": "protocols", "seed": "seeds"}
METRICS = ("HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR")
FIELDS = (*AXES, *METRICS, "best_epoch", "epochs_run", "finetune_seconds", "pretrain_seconds", "command")
#: published figures to print beside ours: (dataset, protocol, model) -> NDCG@10 (REFERENCE.md)
PUBLISHED = {("beauty", "sampled", "sasrec"): 0.3156, ("beauty", "sampled", "s3rec"): 0.3732,
             ("beauty", "full", "sasrec"): 0.0318, ("beauty", "full", "s3rec"): 0.0327,
             ("lastfm", "sampled", "sasrec"): 0.2755, ("lastfm", "sampled", "s3rec"): 0.3583}
#: later published figures on the same split, printed under a table that has the (dataset, protocol)
PEERS = {("beauty", "full"): "SASRec + sampled softmax 0.0531, ICSRec 0.0578, BSARec 0.0611 (NDCG@10, history "
                             "masked; quoted by REFERENCE.md and the benchmark issue)"}
AUTHORS = "authors"  # the pre-training axis value naming the authors' released checkpoint


def read_grid(path: Path) -> dict[str, Any]:
    grid = read_toml(path, "grid file")
    missing = [k for k in (*AXES.values(), "results", "pretrain_seed") if k not in grid]
    if missing:
        raise SystemExit(f"{path}: missing key {missing[0]}; a grid names results, pretrain_seed and "
                         + ", ".join(AXES.values()))
    unknown = sorted(set(grid[AXES["dataset"]]) - set(FILES))
    if unknown:
        raise SystemExit(f"{path}: datasets: unknown {unknown[0]!r}; known: {', '.join(sorted(FILES))}")
    for value in grid["pretraining"]:
        if not (value == AUTHORS or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)):
            raise SystemExit(f"{path}: pretraining: {value!r} is neither a number of epochs (0: none) nor "
                             f"{AUTHORS!r} (the authors' released checkpoint)")
    if AUTHORS in grid["pretraining"]:
        other = [b for b in grid["backbones"] if PRETRAINED_FROM.get(b) != "transformer"]
        if other:
            raise SystemExit(f"{path}: pretraining {AUTHORS!r} is a Transformer checkpoint; backbone {other[0]!r} "
                             "does not start from the Transformer's (use it with transformer or caser)")
    finetune = grid.get("finetune", {})
    fixed_by_cell = sorted({"loss", "init"} & set(finetune))
    if fixed_by_cell:
        raise SystemExit(f"{path}: [finetune] {fixed_by_cell[0]} is set by each cell, not by the grid")
    try:
        spec_from_dict({"finetune": finetune}, where=str(path))
    except SpecError as exc:
        raise SystemExit(str(exc)) from None
    return grid


def parse_cell(text: str, grid: dict[str, Any], whole: bool = False) -> dict[str, str]:
    """``axis=value,...`` (``--only``, ``--cell``) as a dict, every value one of the grid's for its axis; with
    ``whole``, every axis given (one cell)."""
    pairs = {key.strip(): value.strip() for key, _, value in (item.partition("=") for item in text.split(",")
                                                              if item.strip())}
    unknown = sorted(set(pairs) - set(AXES))
    if unknown:
        raise SystemExit(f"cell key {unknown[0]!r} is not an axis; axes: {', '.join(AXES)}")
    for axis, value in pairs.items():
        values = [str(v) for v in grid[AXES[axis]]]
        if value not in values:
            raise SystemExit(f"{axis}={value!r} is not in the grid; its {AXES[axis]}: {', '.join(values)}")
    missing = [axis for axis in AXES if axis not in pairs]
    if whole and missing:
        raise SystemExit(f"--cell names one cell: give every axis ({', '.join(missing)} missing)")
    return pairs


def cells(grid: dict[str, Any], only: dict[str, str]) -> list[dict[str, str]]:
    """The grid's cells matching ``only``. The Transformer without pre-training is SASRec (the same network
    fine-tuned causally from the same seed, to the last digit: LastFM, 12 cells), so it is not run where
    ``sasrec`` is in the grid; the table reads SASRec's row for it."""
    axes = [[str(v) for v in grid[plural]] for plural in AXES.values()]
    every = (dict(zip(AXES, values)) for values in itertools.product(*axes))
    same_as_sasrec = "sasrec" in [str(b) for b in grid["backbones"]]
    return [c for c in every if all(c[k] == v for k, v in only.items())
            and not (same_as_sasrec and c["backbone"] == "transformer" and c["pretrain"] == "0")]


def pretrained(grid: dict[str, Any], cell: dict[str, str], data_dir: Path, runs: Path,
               checkpoints: Path) -> tuple[str, float]:
    """The checkpoint of the cell's pre-training, run (or resumed, or imported) when needed; seconds spent on it
    here."""
    if cell["pretrain"] == AUTHORS:
        out = runs / cell["dataset"] / "authors-pretrained.pt"
        if not out.exists():
            import_released_checkpoint(checkpoints / FILES[cell["dataset"]][2], out)
        return str(out), 0.0
    source, epochs = PRETRAINED_FROM[cell["backbone"]], int(cell["pretrain"])
    folder = pretraining_folder(grid, cell, runs)
    assert folder is not None, "an ssrec pre-training has a folder"
    with locked(folder.with_suffix(".lock"), wait=True):  # grids side by side share a pre-training: one runs it
        if (folder / "pretrained.pt").exists():
            return str(folder / "pretrained.pt"), 0.0
        reuse = Reuse.RESUME if (folder / "pretrain-state.pt").exists() else Reuse.OVERWRITE
        spec = RunSpec(data=DataSpec(str(data_dir / FILES[cell["dataset"]][0])), backbone=BackboneSpec(source),
                       pretrain=PretrainSpec(epochs=epochs), finetune=None, seed=int(grid["pretrain_seed"]),
                       device="auto")
        execute.pretrain_run(spec, folder, reuse)
        return str(folder / "pretrained.pt"), logged_pretrain_seconds(folder / "log.jsonl")


def logged_epochs(log: Path, stage: str) -> list[dict[str, Any]]:
    """The ``stage`` entries of a run folder's log.jsonl (a running run's torn last line is dropped); none when
    there is no log yet."""
    return [e for e in read_log(log) if e.get("stage") == stage] if log.exists() else []


def logged_pretrain_epochs(log: Path) -> dict[int, float]:
    """Seconds per pre-training epoch in a run folder's log, from every process that ran some of them (an epoch
    logged twice, once before a kill, counts once); empty when there is no log yet."""
    return {int(e["epoch"]): float(e["seconds"]) for e in logged_epochs(log, "pretrain")}


def logged_pretrain_seconds(log: Path) -> float:
    """A pre-training's compute: the sum of its logged epochs (a resumed pre-training's earlier epochs count). The
    time of an epoch killed before it was logged is lost."""
    return sum(logged_pretrain_epochs(log).values())


def pretraining_folder(grid: dict[str, Any], cell: dict[str, str], runs: Path) -> Path | None:
    """Where the cell's ssrec pre-training runs (None: no pre-training, or the authors' checkpoint)."""
    if not is_pretrained(cell["pretrain"]) or cell["pretrain"] == AUTHORS:
        return None
    source = PRETRAINED_FROM[cell["backbone"]]
    return runs / cell["dataset"] / f"pretrain-{source}-e{int(cell['pretrain'])}-s{grid['pretrain_seed']}"


def status(grid: dict[str, Any], rows: list[dict[str, str]], runs: Path) -> str:
    """What is recorded, what is left, where each pre-training the left cells need and each started cell stand,
    and the compute left.

    The estimate takes a left pre-training's mean logged epoch, and a left cell's mean recorded fine-tuning time
    over the rows of its (data set, loss, protocol); both at the thread counts they ran with."""
    done = {tuple(r[k] for k in AXES) for r in rows}
    todo = [c for c in cells(grid, {}) if tuple(c.values()) not in done]
    lines = [f"{len(done)} cells recorded, {len(todo)} left"]
    estimate, unknown = 0.0, 0
    needed = {pretraining_folder(grid, c, runs): c["pretrain"] for c in todo}  # folder -> epochs
    for folder, epochs in sorted((f, int(e)) for f, e in needed.items() if f is not None):
        logged = logged_pretrain_epochs(folder / "log.jsonl")
        if (folder / "pretrained.pt").exists():
            state = "finished"
        elif logged:
            per_epoch = sum(logged.values()) / len(logged)
            estimate += (epochs - len(logged)) * per_epoch
            state = f"epoch {len(logged)} of {epochs}, {per_epoch:.0f} s per epoch"
        else:
            state, unknown = "not started", unknown + 1
        lines.append(f"  pre-training {folder.parent.name}/{folder.name}: {state}")
    for cell in todo:
        folder = cell_folder(cell, runs)
        tuned = logged_epochs(folder / "log.jsonl", "finetune")
        if tuned:
            how = "running" if in_use(folder) else "resumes there" if resumable(folder) else "starts again"
            lines.append(f"  cell {folder.parent.name}/{folder.name}: fine-tuned {len(tuned)} epochs, {how}")
        alike = [float(r["finetune_seconds"]) for r in rows
                 if (r["dataset"], r["loss"], r["protocol"]) == (cell["dataset"], cell["loss"], cell["protocol"])]
        if alike:
            estimate += statistics.mean(alike)
        else:
            unknown += 1
    lines.append(f"compute left: about {estimate / 3600:.1f} h"
                 + (f", plus {unknown} pre-trainings or cells with nothing alike recorded yet" if unknown else ""))
    return "\n".join(lines)


def cell_folder(cell: dict[str, str], runs: Path) -> Path:
    """The run folder of a cell's fine-tuning."""
    return runs / cell["dataset"] / "-".join(f"{k}={cell[k]}" for k in AXES if k != "dataset")


def is_pretrained(pretrain: str) -> bool:
    """Whether a pre-training axis value (as the CSV holds it) means some pre-training."""
    return pretrain == AUTHORS or int(pretrain) > 0


def resumable(folder: Path) -> bool:
    """Whether ``folder`` holds an interrupted fine-tuning to continue: its training state, and every epoch it
    logged timed (a log written before fine-tuning logged epoch seconds cannot give the cell's compute)."""
    if not state_path(folder, "finetune").is_file():
        return False
    return all("seconds" in e for e in logged_epochs(folder / "log.jsonl", "finetune"))


def run_cell(grid: dict[str, Any], cell: dict[str, str], data_dir: Path, runs: Path,
             checkpoints: Path, pretrain_runs: Path | None = None, resume: bool = True) -> dict[str, Any]:
    """Fine-tune (after pre-training, when the cell has it) and test one cell; its row. The fine-tuning's run
    folder is under ``runs``, the pre-training's under ``pretrain_runs`` (default: ``runs``). With ``resume``,
    a fine-tuning interrupted there continues from its training state (exact resume: the same figures), and
    the row's seconds add its earlier epochs'."""
    init, pretrain_seconds = None, 0.0
    if is_pretrained(cell["pretrain"]):
        init, pretrain_seconds = pretrained(grid, cell, data_dir, pretrain_runs or runs, checkpoints)
    data_file, negatives, _ = FILES[cell["dataset"]]
    fixed = str(data_dir / negatives) if cell["protocol"] == "sampled" and negatives else None
    finetune = FinetuneSpec(**{**grid.get("finetune", {}), "loss": cell["loss"], "init": init})
    spec = RunSpec(data=DataSpec(str(data_dir / data_file)), backbone=BackboneSpec(cell["backbone"]),
                   finetune=finetune, protocol=ProtocolSpec(cell["protocol"], fixed),
                   seed=int(cell["seed"]), device="auto")
    folder = cell_folder(cell, runs)
    continues = resume and resumable(folder)
    if resume and not continues and state_path(folder, "finetune").is_file():
        log.info("%s: its fine-tuning log has untimed epochs (an older ssrec); the cell starts again", folder)
    tuned = execute.finetune_run(spec, folder, Reuse.RESUME if continues else Reuse.OVERWRITE)
    record = tuned.record
    earlier = sum(e["seconds"] for e in record["history"] if e["epoch"] <= record["resumed_after"])
    return {**cell, **{m: round(record["metrics"][m], 4) for m in METRICS}, "best_epoch": record["best_epoch"],
            "epochs_run": record["epochs_run"], "finetune_seconds": round(earlier + record["seconds"], 1),
            "pretrain_seconds": round(pretrain_seconds, 1)}


def cell_command(grid_file: Path, cell: dict[str, str]) -> str:
    """The command that runs ``cell`` of the grid in ``grid_file`` again and compares it with its row."""
    return f"python benchmarks/grid.py {grid_file} --cell {','.join(f'{k}={cell[k]}' for k in AXES)}"


def mean_std(values: list[float]) -> str:
    """``mean ± sample std (seeds)``; one seed has no spread, so it shows as ``value (1)``, never ``± 0``."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f} (1)"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} ({len(values)})"


def pretraining_label(value: str) -> str:
    """A pre-training axis value as the table's columns name it."""
    return "none" if value == "0" else "authors' S3-Rec" if value == AUTHORS else f"S3-Rec {value} ep"


def cell_values(rows: list[dict[str, str]], key: tuple[str, ...], pretrain: str, metric: str) -> list[float]:
    """``metric`` over the seeds of (dataset, protocol, loss, backbone) ``key`` with ``pretrain``; the plain
    Transformer's are SASRec's where the grid ran SASRec instead (``cells``)."""
    found = [float(r[metric]) for r in rows
             if (r["dataset"], r["protocol"], r["loss"], r["backbone"], r["pretrain"]) == (*key, pretrain)]
    if not found and pretrain == "0" and key[3] == "transformer":
        return cell_values(rows, (*key[:3], "sasrec"), pretrain, metric)
    return found


def table(grid: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """Markdown: per data set, protocol, loss and backbone, NDCG@10 and HR@10 over seeds for each pre-training,
    with each pre-training's gain over none."""
    pretrainings = [str(v) for v in grid["pretraining"]]
    gains = [p for p in pretrainings if is_pretrained(p)] if "0" in pretrainings else []
    head = ["dataset", "protocol", "loss", "backbone", *(f"NDCG@10 {pretraining_label(p)}" for p in pretrainings),
            *(f"gain {pretraining_label(p)}" for p in gains), *(f"HR@10 {pretraining_label(p)}" for p in pretrainings),
            "published NDCG@10 (SASRec / S3-Rec)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for dataset, protocol, loss, backbone in itertools.product(
            *([str(v) for v in grid[AXES[k]]] for k in ("dataset", "protocol", "loss", "backbone"))):
        key = (dataset, protocol, loss, backbone)
        ndcg = {p: cell_values(rows, key, p, "NDCG@10") for p in pretrainings}
        if not any(ndcg.values()):
            continue
        gain = [f"{statistics.mean(ndcg[p]) / statistics.mean(ndcg['0']) - 1:+.1%}" if ndcg[p] and ndcg["0"] else "-"
                for p in gains]
        published = " / ".join(f"{PUBLISHED[(dataset, protocol, m)]:.4f}" if (dataset, protocol, m) in PUBLISHED
                               else "-" for m in ("sasrec", "s3rec")) if backbone == "transformer" else ""
        cells_ = [dataset, protocol, loss, backbone, *(mean_std(ndcg[p]) for p in pretrainings), *gain,
                  *(mean_std(cell_values(rows, key, p, "HR@10")) for p in pretrainings), published]
        lines.append("| " + " | ".join(cells_) + " |")
    seconds = sum(float(r["finetune_seconds"]) + float(r["pretrain_seconds"]) for r in rows)
    present = {(r["dataset"], r["protocol"]) for r in rows}
    lines.extend(f"\nPublished later on {dataset}, {protocol} ranking: {PEERS[(dataset, protocol)]}."
                 for dataset, protocol in sorted(PEERS) if (dataset, protocol) in present)
    lines.append(f"\n{len(rows)} cells, {seconds / 3600:.1f} h of compute recorded. `transformer` without "
                 "pre-training is SASRec; with it, S3-Rec. Mean ± standard deviation (seeds).")
    return "\n".join(lines) + "\n"


def replace_section(path: Path, name: str, markdown: str) -> None:
    """Put ``markdown`` between ``<!-- grid:NAME -->`` and ``<!-- /grid:NAME -->`` in ``path``."""
    text = path.read_text()
    start, end = f"<!-- grid:{name} -->", f"<!-- /grid:{name} -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} markers to put the {name} table between")
    head, rest = text.split(start, 1)
    atomic_write_text(path, f"{head}{start}\n{markdown}{end}{rest.split(end, 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("grid", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--runs", type=Path, default=Path("runs/grid"), help="run folders (not committed)")
    parser.add_argument("--checkpoints", type=Path, default=Path("../shared/checkpoints"),
                        help="the authors' released checkpoints (pretraining 'authors')")
    parser.add_argument("--only", default="", help="run only the cells matching axis=value,...")
    parser.add_argument("--cell", help="run this one cell again and compare with its recorded row (its fine-tuning, "
                        "from the pre-training under --runs when there)")
    parser.add_argument("--rerun-pretraining", action="store_true",
                        help="with --cell: pre-train again too (under --runs/rerun), instead of reusing it")
    parser.add_argument("--status", action="store_true", help="print what is recorded and left, where each "
                        "pre-training stands and the compute left, then stop")
    parser.add_argument("--table", action="store_true", help="write the markdown table beside the results file")
    parser.add_argument("--readme", type=Path, help="with --table: also replace the table between this file's "
                        "<!-- grid:NAME --> and <!-- /grid:NAME --> markers (NAME: the results file's stem)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    grid = read_grid(args.grid)
    results = Path(grid["results"])
    if args.table:
        markdown = table(grid, read_rows(results))
        atomic_write_text(results.with_suffix(".md"), markdown)
        if args.readme:
            replace_section(args.readme, results.stem, markdown)
        print(markdown)
        return
    if args.status:
        print(status(grid, read_rows(results), args.runs))
        return
    if args.cell:
        cell = parse_cell(args.cell, grid, whole=True)
        recorded = [r for r in read_rows(results) if all(r[k] == v for k, v in cell.items())]
        if not recorded:
            log.warning("%s holds no row of this cell yet: its figures are printed without a comparison", results)
        rerun = args.runs / "rerun"
        row = run_cell(grid, cell, args.data_dir, rerun, args.checkpoints,
                       pretrain_runs=rerun if args.rerun_pretraining else args.runs, resume=False)
        for metric in METRICS:
            print(f"{metric:<8} now {row[metric]:.4f}   recorded {recorded[0][metric] if recorded else '-'}")
        return
    done = {tuple(r[k] for k in AXES) for r in read_rows(results)}
    todo = [c for c in cells(grid, parse_cell(args.only, grid)) if tuple(c.values()) not in done]
    log.info("%d cells to run (%d recorded in %s)", len(todo), len(done), results)
    for cell in todo:
        name = ",".join(f"{k}={cell[k]}" for k in AXES)
        with locked(Path(f"{cell_folder(cell, args.runs)}.lock"), wait=False) as mine:
            if not mine or tuple(cell.values()) in {tuple(r[k] for k in AXES) for r in read_rows(results)}:
                log.info("cell %s: run by another grid, skipped", name)
                continue
            row = {**run_cell(grid, cell, args.data_dir, args.runs, args.checkpoints),
                   "command": cell_command(args.grid, cell)}
            append_row(results, row, FIELDS)
        log.info("cell %s: NDCG@10 %.4f HR@10 %.4f", name, row["NDCG@10"],
                 row["HR@10"])


if __name__ == "__main__":
    main()
