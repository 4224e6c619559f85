"""Checkpoints: round trip from the file alone, atomic writes, clear errors for foreign files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ssrec
from ssrec.io.checkpoint import CheckpointError, atomic_write, load_checkpoint, rebuild_backbone, save_checkpoint


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


def _flip_a_weight_byte(src: Path, dst: Path) -> None:
    """Copy ``src`` with one bit flipped inside its largest stored tensor (the zip layout itself intact)."""
    import zipfile

    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as archive:
        record = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    name_len, extra_len = int.from_bytes(data[record.header_offset + 26:record.header_offset + 28], "little"), \
        int.from_bytes(data[record.header_offset + 28:record.header_offset + 30], "little")
    data[record.header_offset + 30 + name_len + extra_len + record.file_size // 2] ^= 0x10
    dst.write_bytes(bytes(data))


def test_a_flipped_bit_in_the_weights_is_refused(tmp_path):
    encoder = ssrec.create_backbone("sasrec", num_items=50, max_len=8)
    save_checkpoint(tmp_path / "ok.pt", encoder, kind="finetuned")
    assert isinstance(load_checkpoint(tmp_path / "ok.pt")["state_dict"], dict)
    _flip_a_weight_byte(tmp_path / "ok.pt", tmp_path / "flipped.pt")
    # torch itself still reads the file: only the checksum notices
    torch.load(tmp_path / "flipped.pt", weights_only=True)
    with pytest.raises(CheckpointError, match=r"flipped.pt: checksum mismatch .*damaged or edited"):
        load_checkpoint(tmp_path / "flipped.pt")


def test_an_edited_entry_or_a_missing_checksum_is_refused(tmp_path):
    encoder = ssrec.create_backbone("sasrec", num_items=5, max_len=4)
    save_checkpoint(tmp_path / "ok.pt", encoder, kind="finetuned", metrics={"NDCG@10": 0.1})
    payload = torch.load(tmp_path / "ok.pt", weights_only=True)
    torch.save({**payload, "metrics": {"NDCG@10": 0.9}}, tmp_path / "edited.pt")
    with pytest.raises(CheckpointError, match=r"edited.pt: checksum mismatch"):
        load_checkpoint(tmp_path / "edited.pt")
    del payload["sha256"]
    torch.save(payload, tmp_path / "unsigned.pt")
    with pytest.raises(CheckpointError, match=r"unsigned.pt: checkpoint lacks its 'sha256' checksum"):
        load_checkpoint(tmp_path / "unsigned.pt")


def test_version_1_files_load_with_a_warning(tmp_path, caplog):
    encoder = ssrec.create_backbone("sasrec", num_items=5, max_len=4)
    save_checkpoint(tmp_path / "new.pt", encoder, kind="finetuned")
    payload = torch.load(tmp_path / "new.pt", weights_only=True)
    del payload["sha256"]
    torch.save({**payload, "version": 1}, tmp_path / "old.pt")
    with caplog.at_level("WARNING"):
        assert load_checkpoint(tmp_path / "old.pt")["kind"] == "finetuned"
    assert "old.pt: a version-1 checkpoint, written before checksums" in caplog.text
    torch.save({**payload, "version": 7}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match=r"future.pt: checkpoint version 7, this ssrec reads versions 1, 2"):
        load_checkpoint(tmp_path / "future.pt")


def test_the_digest_depends_on_content_not_layout():
    from ssrec.io.checkpoint import content_digest

    a = {"w": torch.arange(6.0).reshape(2, 3), "meta": {"x": 1, "y": [1.0, None]}}
    b = {"meta": {"y": [1.0, None], "x": 1}, "w": torch.arange(6.0).reshape(2, 3).T.contiguous().T}
    assert content_digest(a) == content_digest(b)
    assert content_digest(a) != content_digest({**a, "w": a["w"].reshape(3, 2)})
    assert content_digest(a) != content_digest({**a, "meta": {"x": True, "y": [1.0, None]}})
