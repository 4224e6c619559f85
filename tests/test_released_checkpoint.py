"""Importing the authors' checkpoints: the converted encoder computes the released forward pass."""
from __future__ import annotations

import pytest
import torch

from ssrec.io.checkpoint import CheckpointError, load_checkpoint, rebuild_backbone
from ssrec.io.released_checkpoint import import_released_checkpoint
from tests.released_s3rec import ReleasedS3Rec


def sample_inputs(num_items: int, max_len: int) -> torch.Tensor:
    x = torch.randint(1, num_items + 1, (6, max_len), generator=torch.Generator().manual_seed(0))
    for row, length in enumerate([max_len, 1, 7, 20, 3, max_len - 1]):
        x[row, : max_len - length] = 0
    return x


def assert_same_forward(released_state, converted, num_items, num_attributes, max_len=50):
    reference = ReleasedS3Rec(num_items, num_attributes, max_len=max_len).eval()
    reference.load_state_dict(released_state)
    x = sample_inputs(num_items, max_len)
    real = x != 0
    with torch.no_grad():
        for causal in (False, True):
            torch.testing.assert_close(converted.encode(x, causal=causal)[real], reference(x, causal)[real],
                                       rtol=1e-5, atol=1e-5)


def test_round_trip_of_a_random_released_model(tmp_path):
    torch.manual_seed(0)
    released = ReleasedS3Rec(num_items=40, num_attributes=9, max_len=12)
    torch.save(released.state_dict(), tmp_path / "release.pt")
    import_released_checkpoint(tmp_path / "release.pt", tmp_path / "ssrec.pt")
    payload = load_checkpoint(tmp_path / "ssrec.pt")
    assert payload["kind"] == "pretrained" and payload["backbone"]["name"] == "transformer"
    assert set(payload["released_heads"]) >= {"attribute_embeddings.weight", "mip_norm.weight", "sp_norm.bias"}
    assert_same_forward(released.state_dict(), rebuild_backbone(payload).eval(), 40, 9, max_len=12)


@pytest.mark.parametrize("name, items, attributes", [("LastFM", 3646, 389), ("Beauty", 12101, 638)])
def test_authors_checkpoints(tmp_path, shared_dir, name, items, attributes):
    src = shared_dir / "checkpoints" / f"s3rec-authors-{name}-epochs-150.pt"
    import_released_checkpoint(src, tmp_path / "imported.pt")
    converted = rebuild_backbone(load_checkpoint(tmp_path / "imported.pt")).eval()
    assert converted.num_items == items
    assert_same_forward(torch.load(src, weights_only=True), converted, items, attributes)


def test_foreign_state_dict_is_refused(tmp_path):
    torch.save({"item_embeddings.weight": torch.zeros(5, 4), "position_embeddings.weight": torch.zeros(3, 4),
                "decoder.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other.pt: not the released S3-Rec layout.*decoder.weight"):
        import_released_checkpoint(tmp_path / "other.pt", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()
