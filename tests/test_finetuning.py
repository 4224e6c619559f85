"""Fine-tuning: it learns, it is deterministic, it keeps the best validation weights, it checks the backbone."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import ssrec
from ssrec.data import make_synthetic
from ssrec.data.split import leave_one_out
from ssrec.evaluation.baselines import popularity_scorer
from ssrec.evaluation.ranking import encoder_scorer, evaluate
from ssrec.hookspecs import hookimpl
from ssrec.plugins import get_plugin_manager
from ssrec.training.finetuning import FinetuneConfig, finetune


@pytest.fixture(scope="module")
def split():
    return leave_one_out(make_synthetic(num_users=300, num_items=120, seed=3), max_len=20)


def run(split, seed=0, **overrides):
    torch.manual_seed(seed)
    model = ssrec.create_backbone("sasrec", num_items=split.dataset.num_items, max_len=20, hidden_size=32)
    config = FinetuneConfig(**{"protocol": "full", "epochs": 12, "patience": 4, "seed": seed, **overrides})
    return model, finetune(model, split, config)


def test_learns_far_beyond_popularity_and_restores_best_weights(split):
    model, result = run(split)
    popular = evaluate(popularity_scorer(split), split, "test", "full")
    assert result.test_metrics["NDCG@10"] > 2 * popular["NDCG@10"]
    # the model holds the best validation epoch's weights, and the test was scored with them
    assert evaluate(encoder_scorer(model), split, "valid", "full") == result.valid_metrics
    assert evaluate(encoder_scorer(model), split, "test", "full") == result.test_metrics
    best = max(result.history, key=lambda h: h["valid_NDCG@20"])
    assert best["epoch"] == result.best_epoch
    assert result.epochs_run <= 12 and result.epochs_run - result.best_epoch <= 4


def test_same_seed_same_weights(split):
    a, ra = run(split, seed=1, epochs=3)
    b, rb = run(split, seed=1, epochs=3)
    # Same batches, negatives and dropout masks; CPU GEMM kernels may still round differently (their
    # blocking can depend on buffer alignment), so weights agree to float rounding, metrics exactly.
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)
    assert [round(h["loss"], 5) for h in ra.history] == [round(h["loss"], 5) for h in rb.history]
    assert ra.test_metrics == rb.test_metrics
    _, rc = run(split, seed=2, epochs=3)
    assert rc.test_metrics != ra.test_metrics


def test_cross_entropy_loss_trains(split):
    _, result = run(split, loss="ce", epochs=6)
    popular = evaluate(popularity_scorer(split), split, "test", "full")
    assert result.test_metrics["NDCG@10"] > 2 * popular["NDCG@10"]


def test_epoch_end_hook_reaches_plugins(split):
    seen = []

    class Listener:
        @hookimpl
        def ssrec_epoch_end(self, stage, epoch, logs):
            seen.append((stage, epoch, round(logs["loss"], 6)))

    listener = Listener()
    get_plugin_manager().register(listener, name="listener")
    try:
        _, result = run(split, epochs=2, patience=10)
    finally:
        get_plugin_manager().unregister(listener)
    assert seen == [("finetune", h["epoch"], round(h["loss"], 6)) for h in result.history]


def test_backbone_without_causal_mode_is_refused_before_training(split):
    class SummaryOnly(nn.Module):
        name, hidden_size, capabilities, default_causal = "summary", 8, frozenset({"bidirectional"}), False

    with pytest.raises(ValueError, match="next-item fine-tuning needs a backbone with causal output, but backbone "
                                         "'summary' only offers bidirectional"):
        finetune(SummaryOnly(), split, FinetuneConfig(epochs=1))


def test_prefix_batches_are_every_training_position_once():
    from ssrec.training.finetuning import _prefix_batch

    data = make_synthetic(num_users=20, num_items=30, max_len=12, seed=5)
    small = leave_one_out(data, max_len=6)
    examples = (small.train_targets > 0).nonzero()
    users, x, y = _prefix_batch(small.train_inputs, small.train_targets, examples)
    for (u, t), row, target in zip(examples.tolist(), x.tolist(), y[:, 0].tolist()):
        prefix = [i for i in small.train_inputs[u, : t + 1].tolist() if i]  # the items up to position t
        assert [i for i in row if i] == prefix and row[-1] == prefix[-1]
        assert target == int(small.train_targets[u, t])
    # the targets are exactly the per-position targets, each once
    assert sorted(y[:, 0].tolist()) == sorted(small.train_targets[small.train_targets > 0].tolist())


@pytest.mark.parametrize("num_users", [0, 300])
def test_summary_only_backbone_learns_from_prefixes(split, num_users):
    """Caser (no per-position output; with and without a user embedding) trains on every prefix."""
    torch.manual_seed(0)
    model = ssrec.create_backbone("caser", num_items=split.dataset.num_items, max_len=20, hidden_size=32,
                                  num_users=num_users)
    result = finetune(model, split, FinetuneConfig(protocol="full", epochs=14, patience=4, seed=0, lr=3e-3))
    popular = evaluate(popularity_scorer(split), split, "test", "full")
    assert result.test_metrics["NDCG@10"] > 1.5 * popular["NDCG@10"], (result.test_metrics, popular)


def test_a_non_finite_loss_stops_fine_tuning_and_keeps_the_last_good_state(split, tmp_path, monkeypatch):
    from ssrec.io.checkpoint import load_payload
    from ssrec.training import finetuning

    calls = {"n": 0}
    real = finetuning.build_loss

    def exploding(config, split, device):
        loss = real(config, split, device)

        def fn(*args):
            calls["n"] += 1
            return loss(*args) * (float("inf") if calls["n"] > 4 else 1.0)
        return fn

    monkeypatch.setattr(finetuning, "build_loss", exploding)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=split.dataset.num_items, max_len=20, hidden_size=16)
    with pytest.raises(FloatingPointError, match=r"fine-tuning loss is inf in epoch \d+; stopping"):
        finetune(encoder, split, FinetuneConfig(epochs=50, batch_size=400, protocol="full"), out=tmp_path)
    state = load_payload(tmp_path / "finetune-state.pt")
    assert state["epoch"] >= 1 and all(torch.isfinite(v).all() for v in state["model"].values())


@pytest.mark.parametrize("stopping", ["ssrec", "released"])
def test_fine_tuning_stops_where_its_rule_says(split, stopping):
    from ssrec.training.stopping import stopping_rule

    _, result = run(split, epochs=25, stopping=stopping, patience=2, lr=3e-3)
    curve = [h["valid_NDCG@20"] for h in result.history]
    assert result.epochs_run == (stopping_rule(stopping, 2).stop_epoch(curve) or 25)
    assert result.best_epoch == 1 + max(range(len(curve)), key=lambda i: (curve[i], -i))
