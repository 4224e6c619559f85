"""ssrec tune: the space file is checked before any trial; a killed search continues without losing or repeating
a trial; two workers share one study; pre-training is paid once per search."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ssrec.io.checkpoint import load_checkpoint
from ssrec.runs.spec import default_spec
from ssrec.tuning.space import SpaceError, read_space

optuna = pytest.importorskip("optuna")

BASE = """command = "finetune"
seed = 1
device = "cpu"
[data]
max_len = 20
[backbone]
name = "sasrec"
options = {{ hidden_size = 16 }}
[finetune]
epochs = {epochs}
[protocol]
name = "full"
"""
SPACE = '"finetune.lr" = { loguniform = [0.0005, 0.01] }\n"backbone.num_layers" = { range = [1, 2] }\n'


def _files(tmp_path: Path, epochs: int) -> tuple[Path, Path]:
    base, space = tmp_path / "base.toml", tmp_path / "space.toml"
    base.write_text(BASE.format(epochs=epochs))
    space.write_text(SPACE)
    return base, space


def _tune(base: Path, space: Path, out: Path, trials: int, seed: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ssrec", "-q", "tune", "--config", str(base), "--space", str(space),
                             "--trials", str(trials), "--seed", str(seed), "--heartbeat", "1", "--pruner", "none",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _trials(out: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(out / "study.db") as db:
        return sorted(db.execute("SELECT number, state FROM trials").fetchall())


@pytest.mark.parametrize(("line", "message"), [
    ('"finetune.lrr" = { choice = [0.1] }', r"space.toml: unknown key 'finetune.lrr'; the fields of \[finetune\]"),
    ('"finetune.lr" = { uniform = [0.1, 0.01] }', r"space.toml: finetune.lr: uniform needs low < high"),
    ('"backbone.num_layers" = { range = [3, 1] }', r"space.toml: backbone.num_layers: range needs low <= high"),
    ('"finetune.lr" = { choice = [] }', r"space.toml: finetune.lr: choice needs a non-empty list"),
    ('"backbone.colour" = { choice = [1] }', r"space.toml: backbone.colour = 1 is refused: .*unexpected keyword"),
    ('"backbone.num_heads" = { choice = [2, 3] }', r"space.toml: backbone.num_heads = 3 is refused: hidden_size=64 "),
    ('"finetune.epochs" = { choice = [10, 0] }', r"finetune.epochs = 0 is refused: finetune.epochs must be an int"),
    ('"finetune.weight_decay" = { loguniform = [0, 0.1] }', r"loguniform bounds are the values themselves"),
])
def test_a_bad_space_is_refused_naming_file_and_key(tmp_path, line, message):
    space = tmp_path / "space.toml"
    space.write_text(line + "\n")
    with pytest.raises(SpaceError, match=message):
        read_space(space, default_spec("finetune"))


def test_the_cli_refuses_a_bad_space_before_any_trial(tmp_path):
    from ssrec.cli import main

    base, space = _files(tmp_path, epochs=2)
    space.write_text('"finetune.lrr" = { choice = [0.1] }\n')
    assert main(["tune", "--config", str(base), "--space", str(space), "--out", str(tmp_path / "s")]) == 2
    assert not (tmp_path / "s" / "study.db").exists()


@pytest.mark.slow
def test_a_killed_search_continues_without_losing_or_repeating_a_trial(tmp_path):
    base, space = _files(tmp_path, epochs=40)
    out = tmp_path / "search"
    run = _tune(base, space, out, trials=3, seed=0)
    deadline = time.monotonic() + 300
    while not (out / "trial-0001" / "log.jsonl").exists():  # trial 0 finished, trial 1 under way
        assert run.poll() is None, run.stderr.read() if run.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    first = (out / "trial-0000" / "metrics.json").stat().st_mtime_ns
    assert _trials(out)[:2] == [(0, "COMPLETE"), (1, "RUNNING")]  # the killed trial looks alive for now
    again = _tune(base, space, out, trials=3, seed=0)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    states = _trials(out)
    assert [s for _, s in states].count("COMPLETE") == 3  # the trials asked for
    assert (1, "FAIL") in states  # the killed trial is marked failed, not left running
    assert (out / "trial-0000" / "metrics.json").stat().st_mtime_ns == first  # trial 0 was not run again
    assert (out / "best-config.toml").exists() and (out / "best.json").exists()


@pytest.mark.slow
def test_two_workers_share_one_study_with_the_count_asked_for(tmp_path):
    base, space = _files(tmp_path, epochs=6)
    out = tmp_path / "search"
    workers = [_tune(base, space, out, trials=5, seed=seed) for seed in (1, 2)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    states = _trials(out)
    complete = [n for n, s in states if s == "COMPLETE"]
    assert len(complete) == 5
    with sqlite3.connect(out / "study.db") as db:  # any other trial is a surplus one, never run
        surplus = {n for (n,) in db.execute("SELECT t.number FROM trials t JOIN trial_user_attributes a "
                                            "ON a.trial_id = t.trial_id WHERE a.key = 'surplus'")}
    assert {n for n, s in states if s != "COMPLETE"} == surplus
    assert all((out / f"trial-{n:04d}" / "metrics.json").exists() for n in complete)
    assert not any((out / f"trial-{n:04d}").exists() for n in surplus)


@pytest.mark.slow
def test_pretraining_epoch_choices_are_served_by_one_pretraining(tmp_path):
    from ssrec.runs import execute
    from ssrec.runs.folder import Reuse
    from ssrec.tuning.search import TuneConfig, tune

    base_file = tmp_path / "base.toml"
    base_file.write_text('command = "run"\nseed = 3\ndevice = "cpu"\n[data]\nmax_len = 12\n[backbone]\n'
                         'name = "transformer"\noptions = { hidden_size = 16 }\n[pretrain]\nepochs = 1\n'
                         'batch_size = 256\n[finetune]\nepochs = 2\n[protocol]\nname = "full"\n')
    space = tmp_path / "space.toml"
    space.write_text('"pretrain.epochs" = { choice = [1, 2] }\n')
    from ssrec.runs.config_file import read_config

    base, _ = read_config(base_file, "run")
    outcome = tune(base, read_space(space, base), tmp_path / "s", TuneConfig(trials=3, pruner="none", seed=0))
    caches = list((tmp_path / "s" / "pretrain-cache").iterdir())
    assert len(caches) == 1  # one pre-training for every trial
    assert sorted(p.name for p in caches[0].glob("pretrained*.pt")) == ["pretrained-epoch-1.pt", "pretrained.pt"]
    assert {r["params"]["pretrain.epochs"] for r in outcome.rows} <= {1, 2}
    # its epoch-1 checkpoint is what a 1-epoch pre-training ends with
    import dataclasses

    alone = tmp_path / "alone"
    execute.pretrain_run(dataclasses.replace(base, finetune=None), alone, Reuse.OVERWRITE)
    shared, direct = load_checkpoint(caches[0] / "pretrained-epoch-1.pt"), load_checkpoint(alone / "pretrained.pt")
    for name, tensor in direct["state_dict"].items():
        torch.testing.assert_close(shared["state_dict"][name], tensor, rtol=0, atol=1e-6, msg=name)


def test_the_grid_sampler_covers_every_choice_once(tmp_path):
    from ssrec.runs.config_file import read_config
    from ssrec.tuning.search import TuneConfig, grid_space, tune

    base_file, space = _files(tmp_path, epochs=1)
    space.write_text('"finetune.lr" = { choice = [0.01, 0.001] }\n"backbone.num_layers" = { range = [1, 2] }\n')
    base, _ = read_config(base_file, "finetune")
    dimensions = read_space(space, base)
    assert grid_space(dimensions) == {"finetune.lr": [0.01, 0.001], "backbone.num_layers": [1, 2]}
    outcome = tune(base, dimensions, tmp_path / "s", TuneConfig(trials=4, sampler="grid", pruner="none", seed=0))
    assert sorted((r["params"]["finetune.lr"], r["params"]["backbone.num_layers"]) for r in outcome.rows) == \
        [(0.001, 1), (0.001, 2), (0.01, 1), (0.01, 2)]
    assert outcome.best is not None and set(outcome.best["test"]) >= {"NDCG@10", "HR@10"}
    space.write_text('"finetune.lr" = { uniform = [0.001, 0.01] }\n')
    with pytest.raises(ValueError, match="grid takes choice and range keys only; finetune.lr is uniform"):
        grid_space(read_space(space, base))


def test_a_combination_asked_for_again_reuses_the_trained_trial(tmp_path):
    from ssrec.runs.config_file import read_config
    from ssrec.tuning.search import TuneConfig, format_trials, tune

    base_file, space = _files(tmp_path, epochs=1)
    space.write_text('"finetune.lr" = { choice = [0.01] }\n')
    base, _ = read_config(base_file, "finetune")
    outcome = tune(base, read_space(space, base), tmp_path / "s", TuneConfig(trials=2, pruner="none", seed=0))
    first, second = outcome.rows
    assert second["repeat_of"] == 0 and second["valid_NDCG@20"] == first["valid_NDCG@20"]
    assert not (tmp_path / "s" / "trial-0001").exists() and outcome.best["number"] == 0
    assert "repeat of 0" in format_trials(outcome.rows, "NDCG@20")


def test_the_cli_search_prints_its_trials_and_plots_them(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from ssrec.cli import main

    base, space = _files(tmp_path, epochs=1)
    space.write_text('"finetune.lr" = { choice = [0.01, 0.001] }\n')
    out = tmp_path / "s"
    assert main(["-q", "tune", "--config", str(base), "--space", str(space), "--trials", "2", "--sampler", "grid",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "trial  state" in printed and "best: trial" in printed and "best-config.toml" in printed
    assert main(["-q", "plot", str(out)]) == 0
    assert (out / "search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
