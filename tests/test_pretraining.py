"""The pre-training loop: determinism, learning, checkpoints, and a clean stop on a non-finite loss."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import ssrec
from ssrec.contracts import MemoKey
from ssrec.data import make_synthetic
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.io.checkpoint import load_checkpoint, load_payload
from ssrec.io.transfer import transfer_weights
from ssrec.training.composition import compose
from ssrec.training.pretraining import PretrainConfig, pretrain


@pytest.fixture(scope="module")
def dataset():
    return make_synthetic(num_users=120, num_items=60, num_categories=6, max_len=20, seed=3)


def build(dataset, objectives=("aap", "mip", "map", "sp"), seed: int = 0):
    torch.manual_seed(seed)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items, hidden_size=16, inner_size=32,
                                    max_len=20)
    return compose(encoder, list(objectives), dataset)


def test_same_seed_same_run(dataset):
    runs = []
    for _ in range(2):
        model = build(dataset)
        result = pretrain(model, pretrain_samples(dataset, 20), PretrainConfig(epochs=2, seed=5))
        runs.append((result.history, model.state_dict()))
    (h1, s1), (h2, s2) = runs
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in h1] == \
           [{k: v for k, v in h.items() if k != "seconds"} for h in h2]
    for name in s1:
        torch.testing.assert_close(s1[name], s2[name], rtol=0, atol=1e-6)


def test_losses_fall(dataset):
    model = build(dataset)
    history = pretrain(model, pretrain_samples(dataset, 20), PretrainConfig(epochs=4, seed=0, lr=3e-3)).history
    for name in ("aap", "mip", "map"):
        assert history[-1][name] < history[0][name], (name, history)


def test_released_random_batches_see_every_sample_once(dataset, monkeypatch):
    data = pretrain_samples(dataset, 20)
    seen = []
    original = data.batch
    monkeypatch.setattr(data, "batch", lambda samples: seen.append(samples.clone()) or original(samples))
    pretrain(build(dataset, ("mip",)), data, PretrainConfig(epochs=1, batch_size=7, bucketing=False))
    assert torch.equal(torch.cat(seen).sort().values, torch.arange(data.num_samples))
    sizes = sorted(len(s) for s in seen)
    assert sizes[1:] == [7] * (len(seen) - 1) and 1 <= sizes[0] <= 7


def test_checkpoints_every_k_epochs_and_the_final_one(dataset, tmp_path):
    model = build(dataset)
    pretrain(model, pretrain_samples(dataset, 20), PretrainConfig(epochs=3, checkpoint_every=2), out=tmp_path,
             checkpoint_extra={"dataset": {"num_items": dataset.num_items}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretrain-state.pt", "pretrained-epoch-2.pt", "pretrained.pt"]
    final = load_checkpoint(tmp_path / "pretrained.pt")
    assert final["kind"] == "pretrained" and final["pretrain_epoch"] == 3
    assert final["objectives"]["mip"] == {"weight": 1.0, "spec": {"mask_ratio": 0.2, "num_negatives": 1,
                                                                   "infonce": False, "double_sigmoid": True,
                                                                   "reduction": "sum"}}
    assert set(final["heads"]) == {"attribute_embeddings.weight"} | {
        f"objectives.{o}.projection.{k}" for o in ("aap", "mip", "map", "sp") for k in ("weight", "bias")}
    # the encoder of the final checkpoint is the model's, and fine-tuning loads every tensor of it
    fresh = ssrec.create_backbone("sasrec", num_items=dataset.num_items, hidden_size=16, inner_size=32, max_len=20)
    report = transfer_weights(fresh, final)
    assert report.skipped == {} and report.kept == []
    assert sorted(n for names in report.loaded.values() for n in names) == sorted(model.encoder.state_dict())
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor.cpu())


class ExplodingObjective(nn.Module):
    """A throwaway objective whose loss turns NaN from its ``after``-th call on."""

    name = "exploding"
    requires = frozenset()
    fields = frozenset()

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.calls = after, 0

    def setup(self, context) -> None:
        self.scale = nn.Parameter(torch.ones(()))

    def loss(self, batch, step):
        self.calls += 1
        value = step.summarize(MemoKey(self.name, "plain"), batch.items).sum() * self.scale
        return value * float("nan") if self.calls > self.after else value * 0.0


def test_a_non_finite_loss_stops_the_run_and_keeps_earlier_checkpoints(dataset, tmp_path):
    data = pretrain_samples(dataset, 20)
    steps_per_epoch = -(-data.num_samples // 100)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items, hidden_size=16, max_len=20)
    model = compose(encoder, [ExplodingObjective(after=steps_per_epoch + 3)], dataset)
    with pytest.raises(FloatingPointError, match=r"loss is nan in epoch 2.*checkpoints written so far are kept"):
        pretrain(model, data, PretrainConfig(epochs=3, checkpoint_every=1), out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pretrain-state.pt", "pretrained-epoch-1.pt"]
    assert load_checkpoint(tmp_path / "pretrained-epoch-1.pt")["pretrain_epoch"] == 1
    assert load_payload(tmp_path / "pretrain-state.pt")["epoch"] == 1, "the last good state is kept for --resume"
