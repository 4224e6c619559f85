"""ssrec's composition of the four objectives gives the release's four losses on the same corrupted batch.

The reference is ``tests/released_s3rec.py``: the release's S3RecModel.pretrain, fed full-length
left-padded tensors as its data loader builds them. Dropout is off on both sides (eval mode).
"""
from __future__ import annotations

import pytest
import torch

import ssrec
from ssrec.contracts import MemoKey
from ssrec.data import load_dataset, make_synthetic
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.io.checkpoint import read_torch_file
from ssrec.io.released_checkpoint import convert_released_state, load_released_heads
from ssrec.training.composition import StepContext, compose, masked_view_key
from tests.released_s3rec import ReleasedS3Rec, released_name

MAX_LEN = 50


def released_from_ssrec(model, num_items: int, num_attributes: int) -> ReleasedS3Rec:
    released = ReleasedS3Rec(num_items, num_attributes, hidden=model.encoder.hidden_size, max_len=MAX_LEN)
    state = {released_name(k): v for k, v in model.encoder.state_dict().items()}
    state["attribute_embeddings.weight"] = model.attribute_embeddings.weight
    for obj in ("aap", "mip", "map", "sp"):
        for kind in ("weight", "bias"):
            state[f"{obj}_norm.{kind}"] = model.objectives[obj].projection.state_dict()[kind]
    released.load_state_dict(state)
    return released.eval()


def pad(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.pad(x, (MAX_LEN - x.shape[1], 0))


def compare(model, dataset, data, samples, monkeypatch) -> None:
    import ssrec.objectives.masked_item as mip_module

    seen = []
    original = mip_module.sample_excluding
    monkeypatch.setattr(mip_module, "sample_excluding", lambda *a, **k: seen.append(original(*a, **k)) or seen[-1])
    batch = data.batch(samples)
    step = StepContext(model.encoder, data, torch.Generator().manual_seed(0), model.attribute_embeddings)
    with torch.no_grad():
        ours = {name: objective.loss(batch, step).item() for name, objective in model.objectives.items()}
    view = step.memo(masked_view_key(0.2), lambda: None)
    segments = step.memo(MemoKey("sp", "segments"), lambda: None)
    negatives = batch.items.clone()
    negatives[view.masked] = seen[0][:, 0]
    items = pad(batch.items)
    attributes = torch.zeros(*items.shape, dataset.attributes.num_attributes, dtype=torch.long)
    for b, t in (items != 0).nonzero().tolist():  # the release's [max_len x attribute_size] lists
        attributes[b, t, dataset.attributes.of(int(items[b, t]))] = 1
    released = released_from_ssrec(model, dataset.num_items, dataset.attributes.num_attributes)
    with torch.no_grad():
        theirs = released.pretrain(attributes, pad(view.items), items, pad(negatives), pad(segments.context),
                                   pad(segments.positive), pad(segments.negative))
    for name, value in zip(("aap", "mip", "map", "sp"), theirs):
        assert ours[name] == pytest.approx(value.item(), rel=2e-4), name


def test_random_weights(monkeypatch):
    dataset = make_synthetic(num_users=80, num_items=60, num_categories=8, max_len=30, seed=4)
    data = pretrain_samples(dataset, MAX_LEN)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset).eval()
    compare(model, dataset, data, torch.arange(0, data.num_samples, 37), monkeypatch)


def test_authors_lastfm_checkpoint(shared_dir, monkeypatch):
    dataset = load_dataset(shared_dir / "data" / "lastfm" / "LastFM.txt")
    data = pretrain_samples(dataset, MAX_LEN)
    released = read_torch_file(shared_dir / "checkpoints" / "s3rec-authors-LastFM-epochs-150.pt")
    encoder, heads = convert_released_state(released, "LastFM")
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset).eval()
    assert len(load_released_heads(model, heads)) == 9
    compare(model, dataset, data, torch.arange(0, data.num_samples, 211), monkeypatch)
