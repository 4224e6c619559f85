"""Config files: every option from TOML, the command line over the file, the effective configuration saved
in the run folder and in checkpoints, and a run repeated from its folder alone giving the same metrics."""
from __future__ import annotations

import json
import logging
import tomllib

import pytest

from ssrec.io.checkpoint import load_checkpoint
from ssrec.cli import main
from ssrec.runs.config_file import write_config

SMALL_RUN = ["run", "--pretrain-epochs", "1", "--epochs", "3", "--max-len", "10",
             "--backbone-option", "hidden_size=16", "--device", "cpu"]


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_a_run_repeated_from_its_folder_gives_the_same_metrics(tmp_path):
    assert main(["-q", *SMALL_RUN, "--seed", "7", "--out", str(tmp_path / "first")]) == 0
    saved = tomllib.loads((tmp_path / "first" / "config.toml").read_text())
    assert saved["command"] == "run" and saved["seed"] == 7 and saved["backbone_option"] == ["hidden_size=16"]
    assert main(["-q", "run", "--config", str(tmp_path / "first" / "config.toml"),
                 "--out", str(tmp_path / "again")]) == 0
    first, again = _metrics(tmp_path / "first"), _metrics(tmp_path / "again")
    assert again["metrics"] == first["metrics"] and again["history"][-1]["loss"] == first["history"][-1]["loss"]
    assert load_checkpoint(tmp_path / "first" / "model.pt")["cli"]["seed"] == 7
    assert load_checkpoint(tmp_path / "first" / "pretrained.pt")["cli"]["pretrain_epochs"] == 1


def test_the_command_line_overrides_the_file_and_required_options_may_come_from_it(tmp_path, data_file):
    config = tmp_path / "ft.toml"
    write_config(config, {"command": "finetune", "data": str(data_file), "out": str(tmp_path / "ft"),
                          "epochs": 4, "max-len": 10, "protocol": "full", "bucketing": False})
    assert main(["-q", "finetune", "--config", str(config), "--epochs", "2"]) == 0
    record = _metrics(tmp_path / "ft")
    assert record["epochs_run"] == 2 and record["config"]["finetune"]["bucketing"] is False
    saved = tomllib.loads((tmp_path / "ft" / "finetune-config.toml").read_text())
    assert saved["epochs"] == 2 and saved["max_len"] == 10


@pytest.mark.parametrize("content,message", [
    ('command = "run"\nepochs = "ten"\n', "epochs = 'ten': expected an integer"),
    ('command = "run"\nlr = true\n', "lr = True: expected a single float value"),
    ('command = "run"\nprotocol = "half"\n', "protocol = 'half': expected one of full, sampled"),
    ('command = "run"\nbucketing = 1\n', "bucketing = 1: expected true or false"),
    ('command = "run"\nbackbone_option = "dropout=0.1"\n', "expected a list of strings"),
    ('command = "run"\nepoch = 3\n', "unknown key 'epoch' for `ssrec run`; known keys:"),
    ('command = "run"\nresume = true\n', "unknown key 'resume'"),
    ('command = "pretrain"\n', "a config of `ssrec pretrain`, not of `ssrec run`"),
    ('command = "run"\nepochs = \n', "not a TOML file"),
])
def test_bad_config_files_are_named_with_the_key(tmp_path, caplog, content, message):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    with caplog.at_level(logging.ERROR):
        assert main(["-q", "run", "--config", str(config), "--out", str(tmp_path / "r")]) == 2
    assert f"{config}: " in caplog.text and message in caplog.text
    assert not (tmp_path / "r").exists(), "nothing is written for a refused config"


def test_a_missing_config_file_is_named(tmp_path, caplog):
    assert main(["-q", "run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in caplog.text


def test_written_values_read_back_exactly(tmp_path):
    values = {"command": "run", "data": 'a "quoted" päth\\with\tescapes', "lr": 1e-3, "epochs": 3,
              "bucketing": False, "objective_option": ["mip.num_negatives=8", "sp.double_sigmoid=False"]}
    write_config(tmp_path / "c.toml", values)
    assert tomllib.loads((tmp_path / "c.toml").read_text()) == values
