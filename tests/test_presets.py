"""Presets: --preset throughput changes the documented fields of the spec only, and options given with it win."""
from __future__ import annotations

import dataclasses

import pytest

from ssrec.cli import _parse
from ssrec.runs.presets import PRESETS, THROUGHPUT_FINETUNE, THROUGHPUT_PRETRAIN, throughput
from ssrec.runs.spec import default_spec


def changed(before: object, after: object) -> dict[str, object]:
    return {f.name: getattr(after, f.name) for f in dataclasses.fields(before)  # type: ignore[arg-type]
            if getattr(before, f.name) != getattr(after, f.name)}


def test_throughput_changes_the_documented_fields_and_nothing_else():
    base = default_spec("run")
    fast = throughput(base)
    assert changed(base.pretrain, fast.pretrain) == THROUGHPUT_PRETRAIN
    assert changed(base.finetune, fast.finetune) == THROUGHPUT_FINETUNE
    assert (fast.data, fast.backbone, fast.protocol, fast.seed) == (base.data, base.backbone, base.protocol, base.seed)
    assert "sp" not in [o.name for o in fast.pretrain.objectives]


def test_throughput_leaves_absent_stages_absent():
    assert throughput(default_spec("pretrain")).finetune is None
    assert throughput(default_spec("finetune")).pretrain is None


def test_the_command_line_applies_the_preset_and_its_own_options_over_it():
    _, spec = _parse(["run", "--preset", "throughput"])
    assert spec == PRESETS["throughput"](default_spec("run"))
    _, spec = _parse(["run", "--preset", "throughput", "--pretrain-epochs", "3", "--objectives", "mip,sp"])
    assert spec.pretrain.epochs == 3 and [o.name for o in spec.pretrain.objectives] == ["mip", "sp"]
    assert spec.pretrain.lr == THROUGHPUT_PRETRAIN["lr"]


def test_an_unknown_preset_is_refused_with_the_choices(capsys):
    with pytest.raises(SystemExit):
        _parse(["run", "--preset", "fastest"])
    assert "argument --preset: invalid choice: 'fastest'" in capsys.readouterr().err
