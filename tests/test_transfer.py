"""Weight transfer by role between backbones: what loads, what is skipped and why, what is an error."""
from __future__ import annotations

import pytest
import torch

import ssrec
from ssrec.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ssrec.io.transfer import ENCODER, ITEM_EMBEDDINGS, POSITION_EMBEDDINGS, transfer_weights


def checkpoint(tmp_path, name="transformer", **spec):
    torch.manual_seed(0)
    source = ssrec.create_backbone(name, **{"num_items": 10, "max_len": 6, **spec})
    save_checkpoint(tmp_path / "source.pt", source, kind="pretrained")
    return source, load_checkpoint(tmp_path / "source.pt")


def test_same_architecture_loads_every_tensor(tmp_path):
    source, payload = checkpoint(tmp_path)
    target = ssrec.create_backbone("sasrec", num_items=10, max_len=6)  # SASRec is the same Transformer
    report = transfer_weights(target, payload)
    assert report.skipped == {} and report.kept == []
    assert report.loaded[ITEM_EMBEDDINGS] == ["item_embeddings.weight"]
    assert report.loaded[POSITION_EMBEDDINGS] == ["position_embeddings.weight"]
    assert len(report.loaded[ENCODER]) == len(source.state_dict()) - 2
    for name, tensor in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], tensor)


def test_another_architecture_takes_the_item_table_only_and_says_why(tmp_path):
    source, payload = checkpoint(tmp_path)
    target = ssrec.create_backbone("gru4rec", num_items=10, max_len=6)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    report = transfer_weights(target, payload)
    assert report.loaded == {ITEM_EMBEDDINGS: ["item_embeddings.weight"]}
    assert report.skipped["position_embeddings.weight"] == "GRU4Rec has no position_embeddings"
    assert report.skipped["layers.0.attention.query.weight"] == \
        "encoder tensor of a Transformer, the target is a GRU4Rec"
    assert torch.equal(target.item_embeddings.weight, source.item_embeddings.weight)
    assert all(torch.equal(target.state_dict()[k], before[k]) for k in report.kept)
    assert "loaded item_embeddings (1 tensor); skipped 35" in report.summary()


@pytest.mark.parametrize("target_spec, message", [
    ({"num_items": 11}, r"cannot load item_embeddings item_embeddings.weight: checkpoint shape \(12, 64\), "
                        r"Transformer shape \(13, 64\) \(rows are num_items \+ 2, columns hidden_size\)"),
    ({"max_len": 8}, r"cannot load position_embeddings .*\(6, 64\).*\(8, 64\) \(rows are max_len"),
    ({"num_layers": 1}, r"the checkpoint's Transformer has layers.1.* which this Transformer lacks"),
    ({"num_layers": 3}, r"the checkpoint's Transformer lacks \['layers.2"),
])
def test_mismatches_are_errors_that_name_the_setting(tmp_path, target_spec, message):
    _, payload = checkpoint(tmp_path)
    target = ssrec.create_backbone("transformer", **{"num_items": 10, "max_len": 6, **target_spec})
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match=message):
        transfer_weights(target, payload)
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items()), "nothing loaded on error"


def test_hidden_size_mismatch_across_architectures_is_an_error(tmp_path):
    _, payload = checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"item_embeddings.*\(12, 64\).*GRU4Rec shape \(12, 32\)"):
        transfer_weights(ssrec.create_backbone("gru4rec", num_items=10, hidden_size=32), payload)


def test_checkpoints_without_a_recorded_architecture(tmp_path):
    _, payload = checkpoint(tmp_path)
    del payload["backbone"]["architecture"]  # written by an earlier ssrec
    report = transfer_weights(ssrec.create_backbone("gru4rec", num_items=10), payload)
    assert list(report.loaded) == [ITEM_EMBEDDINGS]
