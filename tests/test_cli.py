"""The ssrec command line, end to end on small files."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from ssrec.cli import main
from ssrec.data import make_synthetic


@pytest.fixture()
def data_file(tmp_path):
    data = make_synthetic(num_users=150, num_items=160, seed=1)
    path = tmp_path / "Tiny.txt"
    path.write_text("".join(f"{u} {' '.join(map(str, data.sequence(i)))}\n" for i, u in enumerate(data.users)))
    return path


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"backbones", "objectives"}
    assert out["backbones"]["sasrec"]["distribution"] == "ssrec"
    assert {"transformer", "sasrec"} <= set(out["backbones"])


@pytest.mark.parametrize("protocol", ["sampled", "full"])
def test_finetune_then_evaluate_from_the_checkpoint_alone(tmp_path, data_file, capsys, protocol):
    out = tmp_path / "run"
    args = ["--data", str(data_file), "--protocol", protocol, "--seed", "3"]
    assert main(["-q", "finetune", *args, "--backbone", "sasrec", "--epochs", "3", "--max-len", "20",
                 "--backbone-option", "hidden_size=32", "--out", str(out)]) == 0
    record = json.loads((out / "metrics.json").read_text())
    assert {"protocol", "split", "dataset", "seed", "config", "metrics"} <= set(record)
    assert record["protocol"] == protocol and record["split"] == "test" and record["dataset"] == "Tiny"
    assert record["seed"] == 3 and record["config"]["backbone"]["spec"]["hidden_size"] == 32
    assert {"HR@10", "NDCG@10", "MRR"} <= set(record["metrics"])
    capsys.readouterr()
    assert main(["-q", "evaluate", "--checkpoint", str(out / "model.pt"), *args, "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["metrics"] == record["metrics"], "same weights, same negatives, same metrics"
    if protocol == "sampled":  # the generated negatives were saved with the run and read back the same
        assert main(["-q", "evaluate", "--checkpoint", str(out / "model.pt"), *args, "--json",
                     "--negatives", str(out / "negatives.txt")]) == 0
        assert json.loads(capsys.readouterr().out)["metrics"] == record["metrics"]


def test_existing_run_is_not_overwritten(tmp_path, data_file, caplog):
    out = tmp_path / "run"
    common = ["finetune", "--data", str(data_file), "--epochs", "1", "--max-len", "10", "--out", str(out)]
    assert main(["-q", *common]) == 0
    before = (out / "model.pt").read_bytes()
    with caplog.at_level(logging.ERROR):
        assert main(["-q", *common]) == 2
    assert "already holds a run" in caplog.text and "--overwrite" in caplog.text
    assert (out / "model.pt").read_bytes() == before


def test_bad_data_names_file_and_line(tmp_path, caplog):
    bad = tmp_path / "Bad.txt"
    bad.write_text("1 1 2 3 4\n2 5 x 7\n")
    with caplog.at_level(logging.ERROR):
        assert main(["finetune", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "Bad.txt:2" in caplog.text
    assert not (tmp_path / "o" / "model.pt").exists()


def test_evaluate_refuses_a_checkpoint_of_another_catalogue(tmp_path, data_file, caplog):
    out = tmp_path / "run"
    assert main(["-q", "finetune", "--data", str(data_file), "--epochs", "1", "--max-len", "10", "--out", str(out)]) == 0
    other = tmp_path / "Other.txt"
    other.write_text("1 1 2 3\n2 4 5 6\n")
    with caplog.at_level(logging.ERROR):
        assert main(["evaluate", "--checkpoint", str(out / "model.pt"), "--data", str(other)]) == 2
    assert "trained on 160 items" in caplog.text and "has 6" in caplog.text


def test_run_on_the_embedded_default_prints_a_table(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ssrec", "run", "--epochs", "2", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "sasrec (fine-tuned)" in proc.stdout and "popularity" in proc.stdout and "NDCG@10" in proc.stdout
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["dataset"] == "synthetic"


def test_console_script_is_installed():
    proc = subprocess.run(["ssrec", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("ssrec ")
