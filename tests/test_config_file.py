"""Config files: every option from TOML, the command line over the file, the effective configuration saved
in the run folder and in checkpoints, and a run repeated from its folder alone giving the same metrics."""
from __future__ import annotations

import json
import logging

import pytest
import tomllib

from ssrec.cli import main
from ssrec.io.checkpoint import load_checkpoint
from ssrec.runs.config_file import read_config, write_config
from ssrec.runs.spec import BackboneSpec, DataSpec, FinetuneSpec, ObjectiveSpec, PretrainSpec, ProtocolSpec, RunSpec

SMALL_RUN = ["run", "--pretrain-epochs", "1", "--epochs", "3", "--max-len", "10",
             "--backbone-option", "hidden_size=16", "--device", "cpu"]


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_a_run_repeated_from_its_folder_gives_the_same_metrics(tmp_path):
    assert main(["-q", *SMALL_RUN, "--seed", "7", "--out", str(tmp_path / "first")]) == 0
    saved = tomllib.loads((tmp_path / "first" / "config.toml").read_text())
    assert saved["command"] == "run" and saved["seed"] == 7 and saved["backbone"]["options"] == {"hidden_size": 16}
    assert saved["pretrain"]["epochs"] == 1 and saved["finetune"]["epochs"] == 3 and saved["data"]["max_len"] == 10
    assert main(["-q", "run", "--config", str(tmp_path / "first" / "config.toml"),
                 "--out", str(tmp_path / "again")]) == 0
    first, again = _metrics(tmp_path / "first"), _metrics(tmp_path / "again")
    assert again["metrics"] == first["metrics"] and again["history"][-1]["loss"] == first["history"][-1]["loss"]
    assert load_checkpoint(tmp_path / "first" / "model.pt")["run_spec"]["seed"] == 7
    assert load_checkpoint(tmp_path / "first" / "pretrained.pt")["run_spec"]["pretrain"]["epochs"] == 1


def test_a_flat_option_file_of_earlier_versions_still_runs_and_the_command_line_overrides_it(tmp_path, data_file):
    config = tmp_path / "ft.toml"
    config.write_text(f'command = "finetune"\ndata = "{data_file}"\nout = "{tmp_path / "ft"}"\nepochs = 4\n'
                      'max-len = 10\nprotocol = "full"\nbucketing = false\n')
    assert main(["-q", "finetune", "--config", str(config), "--epochs", "2"]) == 0
    record = _metrics(tmp_path / "ft")
    assert record["epochs_run"] == 2 and record["config"]["finetune"]["bucketing"] is False
    saved = tomllib.loads((tmp_path / "ft" / "finetune-config.toml").read_text())
    assert saved["finetune"]["epochs"] == 2 and saved["data"]["max_len"] == 10 and saved["protocol"]["name"] == "full"
    assert main(["-q", "finetune", "--config", str(tmp_path / "ft" / "finetune-config.toml"),
                 "--out", str(tmp_path / "again")]) == 0
    assert _metrics(tmp_path / "again")["metrics"] == record["metrics"], "the saved spec repeats the run"


def test_spec_files_are_checked_field_by_field(tmp_path, caplog):
    bad = tmp_path / "bad.toml"
    for content, message in [
            ('command = "run"\n[finetune]\nepochs = 0\n', "finetune.epochs must be an integer >= 1, got 0"),
            ('command = "run"\n[finetune]\nepoch = 3\n', "unknown key finetune.epoch"),
            ('command = "run"\n[protocol]\nname = "half"\n', "protocol.name must be one of full, sampled")]:
        bad.write_text(content)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert main(["-q", "run", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
        assert f"{bad}: " in caplog.text and message in caplog.text, caplog.text
        assert not (tmp_path / "r").exists()


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


def test_written_specs_read_back_exactly(tmp_path):
    spec = RunSpec(data=DataSpec('a "quoted" päth\\with\tescapes', attribute_fields=("class", "year")),
                   backbone=BackboneSpec("transformer", {"hidden_size": 16, "attention": "sdpa"}),
                   pretrain=PretrainSpec(objectives=(ObjectiveSpec("mip", 1.0, {"num_negatives": 8}),
                                                     ObjectiveSpec("sp")),
                                         epochs=3, lr=1e-3, bucketing=False),
                   finetune=FinetuneSpec(loss="sampled-softmax", loss_options={"distribution": "popularity"}),
                   protocol=ProtocolSpec("sampled", valid_metric="NDCG@10"), seed=3)
    write_config(tmp_path / "c.toml", spec, "run")
    assert read_config(tmp_path / "c.toml", "run") == (spec, {})
