"""The benchmark grid (benchmarks/grid.py): resumable cell by cell, one pre-training per backbone, a re-run cell
gives its recorded figures, the table's means and gains, and grid files refused with the key named."""
from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from ssrec.data import make_synthetic

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("grid", REPO / "benchmarks" / "grid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A tiny data set (with attributes) where the grid looks for LastFM."""
    data = make_synthetic(num_users=60, num_items=50, num_categories=5, max_len=15, seed=2)
    folder = tmp_path / "data" / "lastfm"
    folder.mkdir(parents=True)
    (folder / "LastFM.txt").write_text("".join(f"{u} {' '.join(map(str, data.sequence(i)))}\n"
                                               for i, u in enumerate(data.users)))
    attrs = {str(i): data.attributes.of(i).tolist() for i in range(1, data.num_items + 1) if len(data.attributes.of(i))}
    (folder / "LastFM_item2attributes.json").write_text(json.dumps(attrs))
    return tmp_path / "data"


def write_grid(tmp_path: Path, **overrides: str) -> Path:
    values = {"results": f'"{tmp_path / "results.csv"}"', "datasets": '["lastfm"]', "backbones": '["transformer"]',
              "pretraining": "[0, 2]", "losses": '["ce"]', "protocols": '["full"]', "seeds": "[1, 2]",
              "pretrain_seed": "7", **overrides}
    path = tmp_path / "grid.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in values.items()) + "[finetune]\nepochs = 2\n")
    return path


def run(grid, monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["grid.py", *map(str, args)])
    grid.main()


def rows(tmp_path: Path) -> list[dict[str, str]]:
    with open(tmp_path / "results.csv") as f:
        return list(csv.DictReader(f))


def test_a_grid_runs_its_missing_cells_once_and_a_cell_reruns_to_its_recorded_figures(
        grid, tmp_path, data_dir, monkeypatch, capsys):
    path = write_grid(tmp_path)
    runs = tmp_path / "runs"
    run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs, "--only", "seed=1")
    assert [(r["pretrain"], r["seed"]) for r in rows(tmp_path)] == [("0", "1"), ("2", "1")]
    run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)  # resumes: only the seed-2 cells
    recorded = rows(tmp_path)
    assert [(r["pretrain"], r["seed"]) for r in recorded] == [("0", "1"), ("2", "1"), ("0", "2"), ("2", "2")]
    assert [r["epochs_run"] for r in recorded] == ["2"] * 4  # the grid's [finetune] table reached every cell
    pretrained = [r for r in recorded if r["pretrain"] == "2"]
    assert float(pretrained[0]["pretrain_seconds"]) > 0 and float(pretrained[1]["pretrain_seconds"]) == 0
    log = runs / "lastfm" / "pretrain-transformer-e2-s7" / "log.jsonl"
    epochs = [json.loads(line) for line in log.read_text().splitlines()]
    assert float(pretrained[0]["pretrain_seconds"]) == round(sum(e["seconds"] for e in epochs), 1)  # the log's sum
    assert (runs / "lastfm" / "pretrain-transformer-e2-s7" / "pretrained.pt").is_file()
    assert recorded[1]["command"] == f"python benchmarks/grid.py {path} --cell dataset=lastfm,backbone=transformer," \
                                     "pretrain=2,loss=ce,protocol=full,seed=1"
    run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)
    assert len(rows(tmp_path)) == 4
    assert b"\r" not in (tmp_path / "results.csv").read_bytes()  # a command cut from a line runs as it is

    for again in ([], ["--rerun-pretraining"]):  # from the grid's pre-training, then pre-trained again too
        capsys.readouterr()
        run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs, "--cell",
            pretrained[1]["command"].split()[-1], *again)
        printed = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
        assert printed["NDCG@10"][2] == f"{float(pretrained[1]['NDCG@10']):.4f}" == printed["NDCG@10"][4][:6]
        assert (runs / "rerun" / "lastfm" / "pretrain-transformer-e2-s7" / "pretrained.pt").is_file() == bool(again)
    assert len(rows(tmp_path)) == 4  # a re-run compares, it does not write


class Interrupted(Exception):
    """Stands for a kill after the state of fine-tuning epoch 1 was written."""


def test_an_interrupted_cell_continues_to_the_figures_of_an_uninterrupted_one(grid, tmp_path, data_dir, monkeypatch,
                                                                               caplog):
    from ssrec.training.loop import LoopPlumbing

    (tmp_path / "straight").mkdir()
    straight = write_grid(tmp_path / "straight", pretraining="[0]", seeds="[1]")
    run(grid, monkeypatch, straight, "--data-dir", data_dir, "--runs", tmp_path / "straight" / "runs")

    path, runs = write_grid(tmp_path, pretraining="[0]", seeds="[1]"), tmp_path / "runs"
    save_state = LoopPlumbing.save_state

    def killed_after_epoch_1(self, epoch, *args, **kwargs):
        save_state(self, epoch, *args, **kwargs)
        if self.stage == "finetune" and epoch == 1:
            raise Interrupted
    monkeypatch.setattr(LoopPlumbing, "save_state", killed_after_epoch_1)
    with pytest.raises(Interrupted):
        run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)
    assert not (tmp_path / "results.csv").exists()
    monkeypatch.setattr(LoopPlumbing, "save_state", save_state)
    folder = runs / "lastfm" / "backbone=transformer-pretrain=0-loss=ce-protocol=full-seed=1"
    first = json.loads((folder / "log.jsonl").read_text().splitlines()[0])

    with caplog.at_level("INFO"):
        run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)
    assert "resuming fine-tuning after epoch 1" in caplog.text
    [row], [reference] = rows(tmp_path), rows(tmp_path / "straight")
    assert {m: row[m] for m in grid.METRICS} == {m: reference[m] for m in grid.METRICS}
    assert (row["best_epoch"], row["epochs_run"]) == (reference["best_epoch"], "2")
    record = json.loads((folder / "metrics.json").read_text())
    assert record["resumed_after"] == 1
    assert float(row["finetune_seconds"]) == round(first["seconds"] + record["seconds"], 1)  # both processes' time


def test_a_cell_with_an_untimed_log_starts_again(grid, tmp_path):
    folder = tmp_path / "cell"
    folder.mkdir()
    (folder / "finetune-state.pt").write_bytes(b"")
    (folder / "log.jsonl").write_text(json.dumps({"stage": "finetune", "epoch": 1, "train_seconds": 3.0}) + "\n")
    assert not grid.resumable(folder)
    (folder / "log.jsonl").write_text(json.dumps({"stage": "finetune", "epoch": 1, "seconds": 3.5}) + "\n")
    assert grid.resumable(folder)
    assert not grid.resumable(tmp_path)  # no state at all


def test_a_cell_is_checked_against_the_grid(grid, tmp_path):
    axes = grid.read_grid(write_grid(tmp_path))
    whole = "dataset=lastfm,backbone=transformer,pretrain=2,loss=ce,protocol=full,seed=1"
    assert grid.parse_cell(whole + "\r", axes, whole=True)["seed"] == "1"  # a line ending cut with the command
    assert grid.parse_cell("seed=2", axes) == {"seed": "2"}
    with pytest.raises(SystemExit, match=r"protocol='ful' is not in the grid; its protocols: full"):
        grid.parse_cell(whole.replace("full", "ful"), axes, whole=True)
    with pytest.raises(SystemExit, match=r"give every axis \(loss, protocol, seed missing\)"):
        grid.parse_cell("dataset=lastfm,backbone=transformer,pretrain=2", axes, whole=True)
    with pytest.raises(SystemExit, match="cell key 'model' is not an axis"):
        grid.parse_cell("model=sasrec", axes)


def test_the_table_gives_mean_spread_and_gain_per_pretraining(grid):
    spec = {"datasets": ["lastfm"], "backbones": ["transformer"], "pretraining": [0, 150, "authors"],
            "losses": ["ce"], "protocols": ["full"]}

    def row(pretrain: str, backbone: str, ndcg: float) -> dict[str, str]:
        return {"dataset": "lastfm", "protocol": "full", "loss": "ce", "backbone": backbone, "pretrain": pretrain,
                "NDCG@10": str(ndcg), "HR@10": str(2 * ndcg), "finetune_seconds": "1800", "pretrain_seconds": "0"}
    markdown = grid.table(spec, [row("0", "sasrec", 0.04), row("0", "sasrec", 0.06), row("150", "transformer", 0.06),
                                 row("authors", "transformer", 0.055), row("authors", "transformer", 0.065)])
    header, _, line = markdown.splitlines()[:3]
    assert "NDCG@10 authors' S3-Rec" in header and "gain S3-Rec 150 ep" in header
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[4:9] == ["0.0500 ± 0.0141 (2)", "0.0600 (1)", "0.0600 ± 0.0071 (2)", "+20.0%", "+20.0%"]
    assert "5 cells, 2.5 h of compute" in markdown


@pytest.mark.parametrize(("override", "message"), [
    ({"pretraining": '[0, "long"]'}, "pretraining: 'long' is neither a number of epochs"),
    ({"pretraining": '[0, "authors"]', "backbones": '["transformer", "gru4rec"]'}, "backbone 'gru4rec' does not start"),
    ({"datasets": '["movies"]'}, "datasets: unknown 'movies'"),
])
def test_a_wrong_grid_file_is_refused_naming_the_key(grid, tmp_path, override, message):
    with pytest.raises(SystemExit, match=message):
        grid.read_grid(write_grid(tmp_path, **override))


def test_the_finetune_table_is_checked_against_the_spec(grid, tmp_path):
    path = write_grid(tmp_path)
    path.write_text(path.read_text().replace("epochs = 2", "epochs = 2\nlearning_rate = 0.01"))
    with pytest.raises(SystemExit, match="unknown key finetune.learning_rate"):
        grid.read_grid(path)
    path.write_text(path.read_text().replace("learning_rate = 0.01", 'loss = "bce"'))
    with pytest.raises(SystemExit, match=r"\[finetune\] loss is set by each cell"):
        grid.read_grid(path)


def test_a_pretraining_held_by_another_grid_is_waited_for(grid, tmp_path):
    """Two grids side by side share a pre-training: the second waits for the first's lock, then reuses it."""
    import fcntl
    import threading

    out = tmp_path / "lastfm" / "pretrain-transformer-e5-s7"
    out.mkdir(parents=True)
    cell = {"dataset": "lastfm", "backbone": "transformer", "pretrain": "5"}
    with open(out.with_suffix(".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        found: list[tuple[str, float]] = []
        waiter = threading.Thread(target=lambda: found.append(
            grid.pretrained({"pretrain_seed": 7}, cell, tmp_path / "no-data", tmp_path, tmp_path)))
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and not found  # waiting, not pre-training a second time
        (out / "pretrained.pt").write_text("finished by the other grid")
    waiter.join(timeout=10)
    assert found == [(str(out / "pretrained.pt"), 0.0)]


def test_a_cell_another_grid_is_running_is_skipped(grid, tmp_path, data_dir, monkeypatch):
    import fcntl

    path, runs = write_grid(tmp_path, pretraining="[0]"), tmp_path / "runs"
    busy = grid.cell_folder({"dataset": "lastfm", "backbone": "transformer", "pretrain": "0", "loss": "ce",
                             "protocol": "full", "seed": "1"}, runs)
    busy.parent.mkdir(parents=True)
    with open(f"{busy}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)
    assert [r["seed"] for r in rows(tmp_path)] == ["2"]
    run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs)  # released: now it runs
    assert [r["seed"] for r in rows(tmp_path)] == ["2", "1"]


def test_a_resumed_pretraining_counts_the_epochs_of_every_process_once(grid, tmp_path):
    log = tmp_path / "log.jsonl"
    epochs = [(1, 10.0), (2, 12.5), (2, 11.0), (3, 9.0)]  # epoch 2 logged, killed before its state was kept, redone
    log.write_text("".join(json.dumps({"stage": "pretrain", "epoch": e, "seconds": s}) + "\n" for e, s in epochs)
                   + json.dumps({"stage": "finetune", "epoch": 1, "seconds": 99.0}) + "\n")
    assert grid.logged_pretrain_seconds(log) == 10.0 + 11.0 + 9.0


def test_the_status_tells_what_is_left_and_estimates_its_compute(grid, tmp_path, data_dir, monkeypatch, capsys):
    path = write_grid(tmp_path, pretraining='[0, 2, "authors"]')  # the authors' checkpoint has no folder
    runs = tmp_path / "runs"
    run(grid, monkeypatch, path, "--data-dir", data_dir, "--runs", runs, "--only", "pretrain=0,seed=1")
    folder = runs / "lastfm" / "pretrain-transformer-e2-s7"  # a pre-training killed after its first epoch
    folder.mkdir(parents=True)
    (folder / "log.jsonl").write_text(json.dumps({"stage": "pretrain", "epoch": 1, "seconds": 360.0}) + "\n")
    cell = runs / "lastfm" / "backbone=transformer-pretrain=0-loss=ce-protocol=full-seed=2"  # killed in epoch 3
    cell.mkdir()
    (cell / "finetune-state.pt").write_bytes(b"")
    (cell / "log.jsonl").write_text("".join(json.dumps({"stage": "finetune", "epoch": e, "seconds": 2.0}) + "\n"
                                            for e in (1, 2)))
    capsys.readouterr()
    run(grid, monkeypatch, path, "--runs", runs, "--status")
    printed = capsys.readouterr().out.splitlines()
    finetune = float(rows(tmp_path)[0]["finetune_seconds"])
    assert printed[0] == "1 cells recorded, 5 left"
    assert printed[1] == "  pre-training lastfm/pretrain-transformer-e2-s7: epoch 1 of 2, 360 s per epoch"
    assert printed[2] == f"  cell lastfm/{cell.name}: fine-tuned 2 epochs, resumes there"
    assert printed[3] == f"compute left: about {(360 + 5 * finetune) / 3600:.1f} h"
