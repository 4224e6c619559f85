"""The ssrec command line, end to end on small files."""
from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from ssrec.cli import main
from ssrec.data import make_synthetic
from tests.conftest import needs_cpp_compiler


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"backbones", "objectives", "losses"}
    assert out["backbones"]["sasrec"]["distribution"] == "ssrec"
    assert {"transformer", "sasrec"} <= set(out["backbones"])
    assert {"aap", "mip", "map", "sp"} <= set(out["objectives"])
    assert all(out["objectives"][name]["distribution"] == "ssrec" for name in ("aap", "mip", "map", "sp"))


@pytest.mark.parametrize("protocol", ["sampled", "full"])
def test_finetune_then_evaluate_from_the_checkpoint_alone(tmp_path, data_file, capsys, protocol):
    out = tmp_path / "run"
    args = ["--data", str(data_file), "--protocol", protocol, "--seed", "3"]
    precision = "bf16" if protocol == "full" else "fp32"
    assert main(["-q", "finetune", *args, "--backbone", "sasrec", "--epochs", "3", "--max-len", "20",
                 "--backbone-option", "hidden_size=32", "--precision", precision, "--out", str(out)]) == 0
    record = json.loads((out / "metrics.json").read_text())
    assert record["config"]["finetune"]["precision"] == precision
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


@needs_cpp_compiler
def test_evaluate_with_flex_attention_ranks_as_the_checkpoints_own_attention(tmp_path, data_file, capsys):
    out = tmp_path / "run"
    args = ["--data", str(data_file), "--protocol", "full", "--seed", "3"]
    assert main(["-q", "finetune", *args, "--epochs", "2", "--max-len", "20", "--out", str(out)]) == 0
    record = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["-q", "evaluate", "--checkpoint", str(out / "model.pt"), *args, "--json",
                 "--attention", "flex"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == pytest.approx(record["metrics"], abs=1e-3)


def test_existing_run_is_not_overwritten(tmp_path, data_file, caplog):
    out = tmp_path / "run"
    common = ["finetune", "--data", str(data_file), "--epochs", "1", "--max-len", "10", "--out", str(out)]
    assert main(["-q", *common]) == 0
    before = (out / "model.pt").read_bytes()
    with caplog.at_level(logging.ERROR):
        assert main(["-q", *common]) == 2
    assert "already holds a finetune run" in caplog.text and "--overwrite" in caplog.text
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
    assert main(["-q", "finetune", "--data", str(data_file), "--epochs", "1", "--max-len", "10",
                 "--out", str(out)]) == 0
    other = tmp_path / "Other.txt"
    other.write_text("1 1 2 3\n2 4 5 6\n")
    with caplog.at_level(logging.ERROR):
        assert main(["evaluate", "--checkpoint", str(out / "model.pt"), "--data", str(other)]) == 2
    assert "trained on 160 items" in caplog.text and "has 6" in caplog.text


def test_run_on_the_embedded_default_prints_a_table(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ssrec", "run", "--pretrain-epochs", "1", "--epochs", "2",
                           "--out", str(tmp_path / "r")], capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "transformer (aap,mip,map,sp)" in proc.stdout and "popularity" in proc.stdout and "NDCG@10" in proc.stdout
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["dataset"] == "synthetic"
    assert json.loads((tmp_path / "r" / "pretrain.json").read_text())["epochs_run"] == 1
    stages = [json.loads(line)["stage"] for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert stages == ["pretrain", "finetune", "finetune"]
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["config"]["init"]["skipped"] == {}


def test_console_script_is_installed():
    proc = subprocess.run(["ssrec", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("ssrec ")


@pytest.fixture()
def data_with_attributes(tmp_path):
    data = make_synthetic(num_users=60, num_items=50, num_categories=5, max_len=15, seed=2)
    path = tmp_path / "Small.txt"
    path.write_text("".join(f"{u} {' '.join(map(str, data.sequence(i)))}\n" for i, u in enumerate(data.users)))
    attrs = {str(i): data.attributes.of(i).tolist() for i in range(1, data.num_items + 1) if len(data.attributes.of(i))}
    (tmp_path / "Small_item2attributes.json").write_text(json.dumps(attrs))
    return path, tmp_path / "Small_item2attributes.json"


def test_pretrain_writes_checkpoints_that_finetune_loads(tmp_path, data_with_attributes, caplog):
    from ssrec.io.checkpoint import load_checkpoint

    data, attrs = data_with_attributes
    out = tmp_path / "pre"
    assert main(["-q", "pretrain", "--data", str(data), "--attributes", str(attrs), "--backbone", "transformer",
                 "--objectives", "aap,mip,map,sp", "--weights", "0.2,1,1,0.5", "--epochs", "2",
                 "--checkpoint-every", "1", "--max-len", "15", "--backbone-option", "hidden_size=16", "--seed", "1",
                 "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["log.jsonl", "pretrain-config.toml", "pretrain-state.pt",
                                                     "pretrain.json", "pretrained-epoch-1.pt", "pretrained.pt"]
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [(x["stage"], x["epoch"]) for x in lines] == [("pretrain", 1), ("pretrain", 2)]
    assert {"loss", "aap", "mip", "map", "sp", "seconds"} <= set(lines[0])
    payload = load_checkpoint(out / "pretrained.pt")
    assert payload["kind"] == "pretrained" and payload["backbone"]["name"] == "transformer"
    assert payload["backbone"]["spec"]["hidden_size"] == 16 and payload["pretrain_epoch"] == 2
    assert payload["objectives"]["aap"]["weight"] == 0.2 and "attribute_embeddings.weight" in payload["heads"]
    record = json.loads((out / "pretrain.json").read_text())
    assert record["epochs_run"] == 2 and set(record["history"][0]) >= {"loss", "aap", "mip", "map", "sp"}
    with caplog.at_level(logging.INFO, logger="ssrec"):
        assert main(["finetune", "--data", str(data), "--backbone", "transformer", "--init", str(out / "pretrained.pt"),
                     "--max-len", "15", "--backbone-option", "hidden_size=16", "--epochs", "1", "--protocol", "full",
                     "--out", str(tmp_path / "ft")]) == 0
    assert "loaded item_embeddings (1 tensor), position_embeddings (1 tensor), encoder (34 tensors)\n" in caplog.text


def test_pretrain_refuses_an_impossible_composition_before_writing(tmp_path, data_file, caplog):
    out = tmp_path / "pre"
    with caplog.at_level(logging.ERROR):
        assert main(["pretrain", "--data", str(data_file), "--objectives", "mip,map", "--out", str(out)]) == 2
    assert "objective 'map' needs item attributes, but data set 'Tiny' has none" in caplog.text
    assert not out.exists()


@pytest.mark.parametrize("extra, message", [
    (["--weights", "1,2,3"], "3 weights for 2 objectives"),
    (["--weights", "1,x"], "expected numbers"),
    (["--objective-option", "aap.mask_ratio=0.3"], "'aap' is not among the objectives"),
    (["--objective-option", "mip.num_negatives=0"], "num_negatives must be >= 1"),
    (["--objectives", ","], "expected comma-separated names"),
])
def test_pretrain_option_errors_say_why(tmp_path, data_file, caplog, extra, message):
    with caplog.at_level(logging.ERROR):
        assert main(["pretrain", "--data", str(data_file), "--objectives", "mip,sp", *extra,
                     "--out", str(tmp_path / "pre")]) == 2
    assert message in caplog.text


def test_caser_takes_pretrained_item_embeddings_and_refuses_per_position_objectives(tmp_path, data_with_attributes,
                                                                                    caplog):
    data, _ = data_with_attributes
    pre = tmp_path / "pre"
    small = ["--max-len", "15", "--backbone-option", "hidden_size=16"]
    assert main(["-q", "pretrain", "--data", str(data), "--epochs", "1", *small, "--out", str(pre)]) == 0
    with caplog.at_level(logging.INFO, logger="ssrec"):
        assert main(["finetune", "--data", str(data), "--backbone", "caser", "--init", str(pre / "pretrained.pt"),
                     *small, "--epochs", "1", "--protocol", "full", "--out", str(tmp_path / "caser")]) == 0
    assert "loaded item_embeddings (1 tensor); skipped 35 (Caser has no position_embeddings; encoder tensor " \
           "of a Transformer, the target is a Caser)" in caplog.text
    init = json.loads((tmp_path / "caser" / "metrics.json").read_text())["config"]["init"]
    assert init["loaded"] == {"item_embeddings": ["item_embeddings.weight"]}
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert main(["pretrain", "--data", str(data), "--backbone", "caser", "--objectives", "sp,mip", *small,
                     "--out", str(tmp_path / "bad")]) == 2
    assert "objective 'mip' needs a backbone with per_position output, but backbone 'caser' only offers causal, " \
           "users" in caplog.text
    with caplog.at_level(logging.ERROR):
        assert main(["finetune", "--data", str(data), "--backbone", "caser", "--init", str(pre / "pretrained.pt"),
                     "--max-len", "15", "--protocol", "full", "--out", str(tmp_path / "wide")]) == 2
    assert "cannot load item_embeddings item_embeddings.weight: checkpoint shape (52, 16), Caser shape (52, 64)" \
           in caplog.text
    assert not (tmp_path / "wide").exists() and not (tmp_path / "bad").exists()


def test_epoch_log_replaces_only_its_own_stage_when_a_run_is_redone(tmp_path):
    from ssrec.runs.folder import EpochLog

    EpochLog(tmp_path, "pretrain")(1, {"loss": 3.0})
    EpochLog(tmp_path, "finetune")(1, {"loss": 0.5})
    redo = EpochLog(tmp_path, "pretrain")  # an --overwrite of the pre-training
    redo(1, {"loss": 2.0})
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert lines == [{"stage": "finetune", "loss": 0.5, "epoch": 1}, {"stage": "pretrain", "loss": 2.0, "epoch": 1}]


def test_attribute_fields_pick_recbole_item_fields(tmp_path, caplog):
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                                      + "".join(f"u{u}\ti{(u + k) % 7}\t{k}\n" for u in range(6) for k in range(5)))
    (tmp_path / "d.item").write_text("item_id:token\ttitle:token_seq\tyear:token\tclass:token_seq\n"
                                     + "".join(f"i{i}\tThe Film {i}\t{1990 + i % 2}\tDrama Comedy\n" for i in range(7)))
    common = ["-q", "finetune", "--data", str(tmp_path / "d.inter"), "--epochs", "1", "--max-len", "5",
              "--protocol", "full"]
    with caplog.at_level(logging.INFO):
        assert main([*common, "--attribute-fields", "class,year", "--out", str(tmp_path / "a")]) == 0
    assert "4 attributes" in caplog.text, "class (Drama, Comedy) and year (1990, 1991); no title words"
    record = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert record["config"]["attribute_fields"] == "class,year"
    assert main([*common, "--attribute-fields", "class,genre", "--out", str(tmp_path / "b")]) == 2
    assert "d.item:1: unknown attribute field 'genre'; available fields: title:token_seq, year:token, class:token_seq" \
        in caplog.text


def test_parquet_data_trains_from_the_command_line(tmp_path, caplog):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame([(f"u{u}", (u + k) % 7, pd.Timestamp("2020-01-01") + pd.Timedelta(days=k))
                          for u in range(6) for k in range(5)], columns=["user_id", "item_id", "timestamp"])
    frame.to_parquet(tmp_path / "d.parquet")
    pd.DataFrame({"item_id": range(7), "genre": [["a", "b"]] * 7}).to_parquet(tmp_path / "items.parquet")
    common = ["finetune", "--data", str(tmp_path / "d.parquet"), "--epochs", "1", "--max-len", "5",
              "--protocol", "full"]
    with caplog.at_level(logging.INFO):
        assert main([*common, "--attributes", str(tmp_path / "items.parquet"), "--out", str(tmp_path / "a")]) == 0
    assert "d: 6 users, 7 items, 30 interactions, 2 attributes" in caplog.text
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert main([*common[:2], str(tmp_path / "bad.parquet"), *common[3:], "--out", str(tmp_path / "b")]) == 2
    assert "bad.parquet: not a readable parquet file" in caplog.text
    assert not (tmp_path / "b").exists(), "a refused data file leaves no run folder behind"


def test_pretrain_ends_with_a_table_of_each_objectives_loss(data_file, tmp_path, capsys):
    assert main(["-q", "pretrain", "--data", str(data_file), "--epochs", "2", "--max-len", "8",
                 "--objectives", "mip,sp", "--weights", "1,0.5", "--out", str(tmp_path / "p")]) == 0
    history = json.loads((tmp_path / "p" / "pretrain.json").read_text())["history"]
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"{tmp_path / 'p' / 'pretrained.pt'}: transformer pre-trained 2 epochs")
    rows = {line.split()[0]: line.split()[1:] for line in table[4:]}
    assert rows["mip"] == ["1", f"{history[0]['mip']:.4g}", f"{history[-1]['mip']:.4g}"]
    assert rows["sp"] == ["0.5", f"{history[0]['sp']:.4g}", f"{history[-1]['sp']:.4g}"]
    assert rows["weighted"] == ["sum", f"{history[0]['loss']:.4g}", f"{history[-1]['loss']:.4g}"]
