"""`ssrec plot`: a run folder's log.jsonl drawn to a PNG; bad logs are named."""
from __future__ import annotations

import json
import logging

import pytest

from ssrec.cli import main

matplotlib = pytest.importorskip("matplotlib")


def _log(folder, stages=("pretrain", "finetune")):
    lines = []
    for epoch in range(1, 6):
        if "pretrain" in stages:
            lines.append({"stage": "pretrain", "epoch": epoch, "loss": 100 / epoch, "mip": 50 / epoch, "sp": 5.0,
                          "seconds": 1.0})
    for epoch in range(1, 8):
        if "finetune" in stages:
            lines.append({"stage": "finetune", "epoch": epoch, "loss": 1 / epoch, "train_seconds": 0.1,
                          "valid_HR@10": 0.1 * epoch, "valid_NDCG@10": 0.05 * epoch,
                          "valid_MRR": 0.3 - abs(epoch - 4) * 0.01})
    folder.mkdir(exist_ok=True)
    (folder / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))


@pytest.mark.parametrize("stages,panels", [(("pretrain", "finetune"), 3), (("pretrain",), 1), (("finetune",), 2)])
def test_plot_draws_one_panel_per_curve_kind(tmp_path, capsys, stages, panels):
    import matplotlib.image

    _log(tmp_path / "run", stages)
    assert main(["plot", str(tmp_path / "run")]) == 0
    png = tmp_path / "run" / "curves.png"
    assert capsys.readouterr().out.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(png).shape[:2]
    assert round(width / height * 3.8 / 5.2) == panels


def test_bad_or_missing_logs_are_named(tmp_path, caplog):
    (tmp_path / "run").mkdir()
    with caplog.at_level(logging.ERROR):
        assert main(["plot", str(tmp_path / "run")]) == 2
    assert "log.jsonl: no such log" in caplog.text
    (tmp_path / "run" / "log.jsonl").write_text('{"stage": "pretrain", "epoch": 1, "loss": 3}\n{"stage": \n')
    assert main(["plot", str(tmp_path / "run")]) == 2
    assert "log.jsonl:2: not a JSON line" in caplog.text
    assert not (tmp_path / "run" / "curves.png").exists()


def test_the_best_epoch_is_the_one_the_run_kept(data_file, tmp_path):
    from ssrec.runs.plot import best_epoch, read_log

    out = tmp_path / "full"
    assert main(["-q", "finetune", "--data", str(data_file), "--backbone", "sasrec", "--protocol", "full",
                 "--epochs", "8", "--max-len", "10", "--out", str(out)]) == 0
    entries = [e for e in read_log(out / "log.jsonl") if e["stage"] == "finetune"]
    assert best_epoch(entries) == (json.loads((out / "metrics.json").read_text())["best_epoch"], "NDCG@20")
    # MRR peaks at epoch 2, NDCG@20 (what the full protocol selects by) at epoch 3
    rows = [{"epoch": e, "valid_MRR": m, "valid_NDCG@20": n, "selected_by": "valid_NDCG@20"}
            for e, m, n in ((1, 0.1, 0.1), (2, 0.3, 0.2), (3, 0.2, 0.4), (4, 0.2, 0.4))]
    assert best_epoch(rows) == (3, "NDCG@20")
    assert best_epoch([{k: v for k, v in r.items() if k != "selected_by"} for r in rows]) == (2, "MRR")
