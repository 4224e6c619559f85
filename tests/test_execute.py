"""The run functions: a spec run from Python writes what the command writes, readable by others, and repeats."""
from __future__ import annotations

import stat

from ssrec.runs import execute
from ssrec.runs.config_file import read_config
from ssrec.runs.folder import Reuse
from ssrec.runs.spec import BackboneSpec, DataSpec, FinetuneSpec, ProtocolSpec, RunSpec


def test_a_finetune_spec_writes_its_folder_and_its_checkpoint_evaluates_the_same(tmp_path, data_file):
    spec = RunSpec(data=DataSpec(str(data_file), max_len=10), backbone=BackboneSpec("sasrec", {"hidden_size": 16}),
                   finetune=FinetuneSpec(epochs=2, loss="sampled-softmax", loss_options={"num_negatives": 8}),
                   protocol=ProtocolSpec("full"), seed=3, device="cpu")
    out = tmp_path / "run"
    outcome = execute.finetune_run(spec, out)
    assert sorted(p.name for p in out.iterdir()) == ["finetune-config.toml", "finetune-state.pt", "log.jsonl",
                                                      "metrics.json", "model.pt"]
    for name in ("metrics.json", "model.pt", "finetune-config.toml"):
        assert stat.S_IMODE((out / name).stat().st_mode) & 0o044 == 0o044, f"{name} is not readable by others"
    assert read_config(out / "finetune-config.toml", "finetune") == (spec, {})
    assert outcome.record["config"]["finetune"]["loss_options"] == {"num_negatives": 8}
    assert execute.evaluate_checkpoint(out / "model.pt", spec)["metrics"] == outcome.result.test_metrics
    again = execute.finetune_run(spec, out, Reuse.OVERWRITE)
    assert again.result.test_metrics == outcome.result.test_metrics, "the same spec gives the same run"


def test_a_torn_last_log_line_is_dropped_and_a_damaged_one_is_named(tmp_path, caplog):
    import pytest

    from ssrec.runs.folder import EpochLog, read_log

    log = tmp_path / "log.jsonl"
    log.write_text('{"stage": "finetune", "epoch": 1}\n{"stage": "finetune", "ep')  # killed mid-write
    assert read_log(log) == [{"stage": "finetune", "epoch": 1}]
    assert "log.jsonl:2: a torn last line" in caplog.text
    EpochLog(tmp_path, "finetune", keep_through=1)(2, {"loss": 0.5})  # a resume rewrites the log whole
    assert [e["epoch"] for e in read_log(log)] == [1, 2]
    log.write_text('{"stage": "finetune", "ep\n{"stage": "finetune", "epoch": 2}\n')
    with pytest.raises(ValueError, match=r"log.jsonl:1: not a JSON line"):
        read_log(log)


def test_a_folder_in_use_is_refused_and_a_dead_owners_lock_is_free(tmp_path):
    import subprocess
    import sys

    import pytest

    from ssrec.runs.folder import LOCK_NAME, owned

    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from ssrec.runs.folder import owned\n"
                               f"with owned(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FileExistsError, match=rf"{out} is in use by a running ssrec run \(pid {holder.pid} on "):
            with owned(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert (out / LOCK_NAME).exists(), "a killed owner leaves its lock file"
    with owned(out):  # the owner died: its lock died with it
        with owned(out):  # and a run holds its folder again for a nested stage
            (out / "model.pt").write_text("x")
    assert not (out / LOCK_NAME).exists() and (out / "model.pt").exists(), "a finished run removes its lock file"


def test_a_refused_run_leaves_no_folder(tmp_path):
    import pytest

    from ssrec.runs.folder import owned

    with pytest.raises(ValueError):
        with owned(tmp_path / "never"):
            raise ValueError("refused before writing anything")
    assert not (tmp_path / "never").exists()


def test_temporary_files_of_a_killed_write_are_removed_by_the_next_owner(tmp_path):
    from ssrec.runs.folder import owned

    (tmp_path / ".model.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / "metrics.json").write_text("{}")
    with owned(tmp_path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_a_full_disk_is_named_and_leaves_the_old_file(tmp_path, monkeypatch):
    import errno
    import shutil

    import pytest

    from ssrec import atomic

    target = tmp_path / "model.pt"
    target.write_bytes(b"the saved model")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))

    def torch_on_a_full_disk(tmp):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0; "
                           "basic_ios::clear: iostream error")
    with pytest.raises(OSError) as info:
        atomic.atomic_write(target, torch_on_a_full_disk)
    assert info.value.errno == errno.ENOSPC and "the disk is full (4096 bytes free)" in str(info.value)
    assert target.read_bytes() == b"the saved model" and list(tmp_path.iterdir()) == [target]


def test_a_checkpoint_saved_from_python_is_checked_against_the_catalogue(tmp_path, data_file):
    import pytest

    import ssrec
    from ssrec.io.checkpoint import CheckpointError

    encoder = ssrec.create_backbone("sasrec", num_items=4, max_len=8, hidden_size=8)
    ssrec.save_checkpoint(tmp_path / "model.pt", encoder, kind="finetuned")  # no "dataset" entry
    spec = RunSpec(data=DataSpec(str(data_file)), protocol=ProtocolSpec("full"), device="cpu")
    with pytest.raises(CheckpointError, match=r"model.pt: the model was trained on 4 items, .* has 160"):
        execute.evaluate_checkpoint(tmp_path / "model.pt", spec)


def test_a_run_with_fixed_negatives_reports_its_sampled_row_on_those_negatives(tmp_path, data_file):
    from ssrec.data import load_dataset, write_negatives
    from ssrec.data.sampling import UserItemIndex, sample_distinct_negatives

    dataset = load_dataset(data_file)
    negatives = tmp_path / "negatives.txt"
    write_negatives(negatives, dataset, sample_distinct_negatives(UserItemIndex(dataset), 99, seed=11))
    spec = RunSpec(data=DataSpec(str(data_file), max_len=10), backbone=BackboneSpec("sasrec", {"hidden_size": 16}),
                   finetune=FinetuneSpec(epochs=2), protocol=ProtocolSpec("sampled", str(negatives)), seed=3,
                   device="cpu")
    outcome = execute.run(spec, tmp_path / "run")
    sampled = [metrics for model, protocol, metrics in outcome.rows if protocol == "sampled" and model != "popularity"]
    assert sampled == [outcome.finetune.result.test_metrics], "the table's sampled row must use --negatives"
