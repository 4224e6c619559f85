"""pytest-benchmark suite for the CPU paths of the foundation: attention, a fine-tuning step, full ranking.

    python -m pytest benchmarks/test_core_speed.py --benchmark-columns=mean,stddev,rounds

Compare implementations by the ratio of their means in the same run; CUDA cases arrive with the GPU work.
"""
from __future__ import annotations

import pytest
import torch

import ssrec
from ssrec.batching import trim_leading_padding
from ssrec.data import make_synthetic
from ssrec.data.split import leave_one_out
from ssrec.evaluation import encoder_scorer, rank_full
from ssrec.losses import SampledBCELoss
from ssrec.nn.attention import attention, attention_mask
from ssrec.sampling import UserItemIndex


@pytest.mark.parametrize("length", [50, 200, 512])
@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_attention(benchmark, implementation, length):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(64, 2, length, 32, generator=g) for _ in range(3))
    items = torch.randint(1, 100, (64, length), generator=g)
    mask = attention_mask(items, causal=True)
    benchmark(lambda: attention(q, k, v, mask, implementation=implementation))


@pytest.fixture(scope="module")
def beauty_sized():
    """A synthetic catalogue of Beauty's size (12,101 items), 5,000 users."""
    return leave_one_out(make_synthetic(num_users=5000, num_items=12101, num_categories=200, seed=0), max_len=50)


def test_finetune_step(benchmark, beauty_sized):
    torch.manual_seed(0)
    model = ssrec.create_backbone("sasrec", num_items=beauty_sized.dataset.num_items).train()
    loss_fn = SampledBCELoss(UserItemIndex(beauty_sized.dataset))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    users = torch.arange(256)
    x, y = trim_leading_padding(beauty_sized.train_inputs[users], beauty_sized.train_targets[users])
    g = torch.Generator().manual_seed(0)

    def step():
        loss = loss_fn(model.encode(x, causal=True), y, users, model.item_embeddings.weight, g)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    benchmark(step)


def test_full_ranking_evaluation(benchmark, beauty_sized):
    model = ssrec.create_backbone("sasrec", num_items=beauty_sized.dataset.num_items).eval()
    benchmark.pedantic(rank_full, args=(encoder_scorer(model), beauty_sized, "test"), rounds=3, iterations=1)
