"""Run specs: every field checked when built (a sentence naming the field), a TOML round trip, and the command
line refusing bad numbers and options with exit 2 before any file is written."""
from __future__ import annotations

import dataclasses
import logging

import pytest

from ssrec.cli import main
from ssrec.runs.spec import (
    BackboneSpec,
    DataSpec,
    FinetuneSpec,
    ObjectiveSpec,
    PretrainSpec,
    ProtocolSpec,
    RunSpec,
    SpecError,
    default_spec,
    spec_from_dict,
    spec_to_dict,
)


@pytest.mark.parametrize("build, message", [
    (lambda: FinetuneSpec(epochs=0), "finetune.epochs must be an integer >= 1, got 0"),
    (lambda: FinetuneSpec(batch_size=-5), "finetune.batch_size must be an integer >= 1, got -5"),
    (lambda: FinetuneSpec(patience=-3), "finetune.patience must be an integer >= 1, got -3"),
    (lambda: FinetuneSpec(lr=float("nan")), "finetune.lr must be a finite number > 0, got nan"),
    (lambda: FinetuneSpec(precision="fp16"), "finetune.precision must be one of fp32, bf16, got 'fp16'"),
    (lambda: PretrainSpec(epochs=0), "pretrain.epochs must be an integer >= 1, got 0"),
    (lambda: PretrainSpec(objectives=()), "pretrain.objectives must name at least one objective"),
    (lambda: PretrainSpec(objectives=(ObjectiveSpec("mip"), ObjectiveSpec("mip"))), "names an objective twice"),
    (lambda: ObjectiveSpec("mip", weight=-1.0), "pretrain.objectives.mip.weight must be a finite number >= 0"),
    (lambda: DataSpec(max_len=0), "data.max_len must be an integer >= 1, got 0"),
    (lambda: BackboneSpec("sasrec", {"max_len": 20}), "max_len and num_items come from the data"),
    (lambda: ProtocolSpec("half"), "protocol.name must be one of full, sampled, got 'half'"),
    (lambda: ProtocolSpec("full", negatives="x.txt"), "protocol.negatives is a file of the sampled protocol"),
    (lambda: ProtocolSpec("full", valid_metric="AUC"), "protocol.valid_metric must be one of HR@1"),
    (lambda: RunSpec(device="gpu"), "device must be cpu, cuda, cuda:N, mps or auto, got 'gpu'"),
    (lambda: RunSpec(pretrain=None, finetune=None), "a run needs a pretrain or a finetune stage"),
    (lambda: RunSpec(pretrain=PretrainSpec(), finetune=FinetuneSpec(init="x.pt")), "exclude each other"),
])
def test_a_field_no_run_could_use_is_refused_naming_it(build, message):
    with pytest.raises(SpecError) as info:
        build()
    assert message in str(info.value)


def test_the_protocol_carries_its_validation_metric():
    assert ProtocolSpec("full").metric == "NDCG@20" and ProtocolSpec("sampled").metric == "MRR"
    assert ProtocolSpec("full", valid_metric="NDCG@10").metric == "NDCG@10"


@pytest.mark.parametrize("command", ["pretrain", "finetune", "evaluate", "run"])
def test_plain_values_round_trip_to_the_same_spec(command):
    spec = dataclasses.replace(default_spec(command), backbone=BackboneSpec("gru4rec", {"dropout": 0.2}), seed=7)
    assert spec_from_dict(spec_to_dict(spec)) == spec


def test_unknown_keys_are_named():
    with pytest.raises(SpecError, match=r"f.toml: unknown key finetune.lr_decay; known keys of \[finetune\]: loss"):
        spec_from_dict({"finetune": {"lr_decay": 0.5}}, where="f.toml")
    with pytest.raises(SpecError, match=r"f.toml: unknown key 'model'"):
        spec_from_dict({"model": {}}, where="f.toml")


@pytest.mark.parametrize("command, extra, message", [
    ("finetune", ["--epochs", "0"], "finetune.epochs must be an integer >= 1, got 0"),
    ("finetune", ["--epochs", "-1"], "finetune.epochs must be an integer >= 1, got -1"),
    ("finetune", ["--batch-size", "-5"], "finetune.batch_size must be an integer >= 1, got -5"),
    ("finetune", ["--batch-size", "0"], "finetune.batch_size must be an integer >= 1, got 0"),
    ("finetune", ["--patience", "-3"], "finetune.patience must be an integer >= 1, got -3"),
    ("pretrain", ["--epochs", "0"], "pretrain.epochs must be an integer >= 1, got 0"),
    ("run", ["--pretrain-epochs", "0"], "pretrain.epochs must be an integer >= 1, got 0"),
    ("pretrain", ["--objectives", "mip", "--objective-option", "mip.foo=3"],
     "objective 'mip': got an unexpected keyword argument 'foo'; its options: mask_ratio"),
    ("finetune", ["--backbone-option", "foo=1"], "backbone 'sasrec': got an unexpected keyword argument 'foo'"),
    ("finetune", ["--loss", "gbce", "--loss-option", "k=3"], "loss 'gbce': got an unexpected keyword argument 'k'"),
    ("finetune", ["--device", "cuda:7"], "device 'cuda:7': this machine has"),
    ("finetune", ["--device", "gpu"], "device must be cpu, cuda, cuda:N, mps or auto, got 'gpu'"),
])
def test_bad_numbers_and_options_exit_2_with_a_sentence_and_no_files(tmp_path, data_file, caplog, command, extra,
                                                                     message):
    out = tmp_path / "run"
    with caplog.at_level(logging.ERROR):
        assert main(["-q", command, "--data", str(data_file), "--max-len", "10", *extra, "--out", str(out)]) == 2
    assert message in caplog.text, caplog.text
    assert "Traceback" not in caplog.text
    assert not out.exists(), "nothing is written for a refused run"
