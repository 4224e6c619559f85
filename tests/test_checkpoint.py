"""Checkpoints: round trip from the file alone, atomic writes, clear errors for foreign files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ssrec
from ssrec.checkpoint import (CheckpointError, atomic_write, load_checkpoint,
                              rebuild_backbone, save_checkpoint)


@pytest.mark.parametrize("name", ["transformer", "sasrec"])
def test_round_trip_rebuilds_the_same_model(tmp_path, name):
    torch.manual_seed(0)
    encoder = ssrec.create_backbone(name, num_items=30, max_len=8, hidden_size=16, num_heads=2).eval()
    save_checkpoint(tmp_path / "m.pt", encoder, kind="finetuned", dataset={"num_items": 30})
    payload = load_checkpoint(tmp_path / "m.pt")
    rebuilt = rebuild_backbone(payload).eval()
    assert payload["backbone"]["name"] == name and payload["dataset"] == {"num_items": 30}
    items = torch.randint(0, 31, (4, 8))
    items[:, -1] = 1
    torch.testing.assert_close(rebuilt.encode(items, causal=True), encoder.encode(items, causal=True), rtol=0, atol=0)


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def crash(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"], "no temporary file left behind"


def test_foreign_and_truncated_files_are_named(tmp_path):
    torch.save({"item_embeddings.weight": torch.zeros(2, 2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign.pt: not an ssrec checkpoint.*import-checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    encoder = ssrec.create_backbone("sasrec", num_items=5, max_len=4)
    save_checkpoint(tmp_path / "ok.pt", encoder, kind="finetuned")
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")
    with pytest.raises(CheckpointError, match=r"missing.pt: no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
