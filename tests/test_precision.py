"""bf16 autocast: matrix products run in bf16, weights stay fp32, training matches fp32 closely."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import ssrec
from ssrec.data import make_synthetic
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.data.split import leave_one_out
from ssrec.evaluation.baselines import popularity_scorer
from ssrec.evaluation.ranking import evaluate
from ssrec.training.composition import compose
from ssrec.training.finetuning import FinetuneConfig, finetune
from ssrec.training.pretraining import PretrainConfig, pretrain


@pytest.fixture(scope="module")
def dataset():
    return make_synthetic(num_users=300, num_items=120, num_categories=6, max_len=20, seed=3)


def pretrain_with(dataset, precision: str):
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items, hidden_size=32, inner_size=64,
                                    max_len=20)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset)
    dtypes: set[torch.dtype] = set()
    for module in encoder.modules():
        if isinstance(module, nn.Linear):
            module.register_forward_hook(lambda m, inputs, output: dtypes.add(output.dtype))
    result = pretrain(model, pretrain_samples(dataset, 20), PretrainConfig(epochs=2, seed=1, precision=precision))
    return model, result.history, dtypes


def test_bf16_pretraining_computes_in_bf16_keeps_fp32_weights_and_tracks_fp32_losses(dataset):
    _, fp32_history, fp32_dtypes = pretrain_with(dataset, "fp32")
    model, bf16_history, bf16_dtypes = pretrain_with(dataset, "bf16")
    assert fp32_dtypes == {torch.float32}
    assert bf16_dtypes == {torch.bfloat16}, "autocast did not reach the encoder's linear layers"
    assert all(p.dtype == torch.float32 for p in model.parameters()), "weights must stay fp32 under autocast"
    for epoch_fp32, epoch_bf16 in zip(fp32_history, bf16_history):
        for name in ("aap", "mip", "map", "sp"):
            assert epoch_bf16[name] == pytest.approx(epoch_fp32[name], rel=0.03), (name, epoch_fp32, epoch_bf16)


def test_bf16_finetuning_learns_as_fp32_does(dataset):
    split = leave_one_out(dataset, max_len=20)
    metrics = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = ssrec.create_backbone("sasrec", num_items=dataset.num_items, max_len=20, hidden_size=32)
        result = finetune(model, split, FinetuneConfig(protocol="full", epochs=12, patience=4, seed=0,
                                                       precision=precision))
        assert all(p.dtype == torch.float32 for p in model.parameters())
        metrics[precision] = result.test_metrics["NDCG@10"]
    popular = evaluate(popularity_scorer(split), split, "test", "full")["NDCG@10"]
    assert metrics["bf16"] > 2 * popular, (metrics, popular)
    assert metrics["bf16"] == pytest.approx(metrics["fp32"], abs=0.05), metrics


@pytest.mark.parametrize("make_config", [lambda: PretrainConfig(precision="fp16"),
                                         lambda: FinetuneConfig(precision="fp16")])
def test_unknown_precision_is_refused_before_training(dataset, make_config):
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=dataset.num_items, max_len=20)
    config = make_config()
    with pytest.raises(ValueError, match="unknown precision 'fp16'; expected one of fp32, bf16"):
        if isinstance(config, PretrainConfig):
            pretrain(compose(encoder, ["mip"], dataset), pretrain_samples(dataset, 20), config)
        else:
            finetune(encoder, leave_one_out(dataset, max_len=20), config)
