"""Resume: a run killed with SIGKILL at any point and resumed ends exactly where an uninterrupted run ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ssrec.cli import main
from ssrec.io.checkpoint import CheckpointError, load_checkpoint
from ssrec.training.resume import load_training_state, state_path

#: a small `ssrec run` on the embedded data set: pre-training epochs of a few seconds, short fine-tuning epochs
RUN = ["run", "--pretrain-epochs", "3", "--epochs", "8", "--patience", "100", "--max-len", "20", "--device", "cpu"]


def _ssrec(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # the same arithmetic in every process
    return subprocess.Popen([sys.executable, "-m", "ssrec", "-q", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_after_epoch(process: subprocess.Popen, state: Path, epoch: int, delay: float) -> None:
    """SIGKILL ``process`` ``delay`` seconds after ``state`` records ``epoch``: in the middle of the next one."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read()}"
        if state.exists():
            try:
                if torch.load(state, weights_only=True)["epoch"] >= epoch:
                    break
            except Exception:  # being renamed into place at this very moment
                pass
        time.sleep(0.01)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL


def _finished(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_killed_twice_and_resumed_equals_uninterrupted(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    reference = _ssrec(*RUN, "--out", str(straight))
    _finished(reference)

    run = _ssrec(*RUN, "--out", str(killed))
    _kill_after_epoch(run, state_path(killed, "pretrain"), epoch=1, delay=1.0)  # mid pre-training epoch 2
    assert not (killed / "pretrained.pt").exists()
    run = _ssrec(*RUN, "--out", str(killed), "--resume")
    _kill_after_epoch(run, state_path(killed, "finetune"), epoch=2, delay=0.05)  # during fine-tuning
    assert not (killed / "model.pt").exists()
    _finished(_ssrec(*RUN, "--out", str(killed), "--resume"))

    for name in ("pretrained.pt", "model.pt"):
        a, b = load_checkpoint(straight / name)["state_dict"], load_checkpoint(killed / name)["state_dict"]
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}: {key} differs after kill and resume"
    metrics = [json.loads((d / "metrics.json").read_text()) for d in (straight, killed)]
    assert metrics[0]["metrics"] == metrics[1]["metrics"]
    assert metrics[0]["best_epoch"] == metrics[1]["best_epoch"]
    logs = [[json.loads(line) for line in (d / "log.jsonl").read_text().splitlines()] for d in (straight, killed)]
    assert [(e["stage"], e["epoch"]) for e in logs[1]] == [("pretrain", k) for k in (1, 2, 3)] + \
        [("finetune", k) for k in range(1, 9)], "one log line per epoch, none repeated"
    assert [e["loss"] for e in logs[0]] == [e["loss"] for e in logs[1]]


def _quick_finetune(out: Path, *extra: str) -> int:
    return main(["-q", "run", "--objectives", "none", "--epochs", "2", "--max-len", "10",
                 "--device", "cpu", "--out", str(out), *extra])


def test_resume_with_other_settings_is_refused_with_the_differences(tmp_path, caplog):
    assert _quick_finetune(tmp_path / "r") == 0
    assert _quick_finetune(tmp_path / "r", "--resume", "--lr", "0.01", "--batch-size", "64") == 2
    err = caplog.text
    assert "finetune-state.pt: cannot resume with other settings than the run's" in err
    assert "finetune.batch_size is 64 now, 256 in the run" in err and "finetune.lr is 0.01 now, 0.001 in the run" in err


def test_resume_of_a_finished_run_adds_no_epoch(tmp_path):
    assert _quick_finetune(tmp_path / "r") == 0
    before = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert _quick_finetune(tmp_path / "r", "--resume") == 0
    after = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert (after["epochs_run"], after["metrics"]) == (before["epochs_run"], before["metrics"])
    assert len((tmp_path / "r" / "log.jsonl").read_text().splitlines()) == 2


def test_resume_and_overwrite_errors(tmp_path, caplog):
    assert _quick_finetune(tmp_path / "missing", "--resume") == 2
    assert "--resume: " + str(tmp_path / "missing") + " is not a run folder" in caplog.text
    assert _quick_finetune(tmp_path / "r") == 0
    assert _quick_finetune(tmp_path / "r") == 2
    assert "already holds a finetune run (finetune-state.pt, metrics.json, model.pt); choose another --out, " \
        "pass --overwrite" in caplog.text
    assert _quick_finetune(tmp_path / "r", "--resume", "--overwrite") == 2
    assert "pass one of them" in caplog.text


def test_a_state_file_of_the_other_stage_is_refused(tmp_path):
    assert _quick_finetune(tmp_path / "r") == 0
    state_path(tmp_path / "r", "finetune").rename(state_path(tmp_path / "r", "pretrain"))
    with pytest.raises(CheckpointError, match=r"pretrain-state.pt: not a pretrain training state"):
        load_training_state(tmp_path / "r", "pretrain", {})


def test_a_killed_run_is_not_overwritten_by_a_fresh_start(tmp_path, caplog):
    assert _quick_finetune(tmp_path / "r") == 0
    for name in ("model.pt", "metrics.json"):  # as if killed before the end: only the state is there
        (tmp_path / "r" / name).unlink()
    state = state_path(tmp_path / "r", "finetune").read_bytes()
    assert _quick_finetune(tmp_path / "r") == 2
    assert "already holds a finetune run (finetune-state.pt)" in caplog.text
    assert "--resume to continue it" in caplog.text
    assert state_path(tmp_path / "r", "finetune").read_bytes() == state, "nothing already saved is lost"


def test_the_summary_of_a_resumed_pretraining_counts_the_epochs_this_run_made(tmp_path, capsys):
    from ssrec.runs.report import pretrain_summary

    record = {"history": [{"loss": 2.0, "mip": 2.0}, {"loss": 1.0, "mip": 1.0}], "epochs_run": 3, "resumed_after": 1,
              "seconds": 51.6, "samples_per_epoch": 10, "config": {"objectives": {"mip": {"weight": 1.0}}}}
    assert pretrain_summary(record, tmp_path / "p.pt", "transformer").splitlines()[0] == \
        f"{tmp_path / 'p.pt'}: transformer pre-trained 3 epochs (2 in this run, 51.6s, 10 samples per epoch)"


def test_a_data_file_named_another_way_is_the_same_run(tmp_path, data_file, monkeypatch, caplog):
    """Resuming with the data's absolute path, where the run was started with a relative one, is no change;
    another file is."""
    monkeypatch.chdir(data_file.parent)
    base = ["-q", "finetune", "--epochs", "2", "--max-len", "10", "--device", "cpu", "--out", str(tmp_path / "r")]
    assert main([*base, "--data", data_file.name]) == 0
    assert main([*base, "--data", str(data_file.resolve()), "--resume"]) == 0
    other = tmp_path / "Other.txt"
    other.write_text(data_file.read_text())
    assert main([*base, "--data", str(other), "--resume"]) == 2
    assert f"run.data is '{other}' now, 'Tiny.txt' in the run" in caplog.text
