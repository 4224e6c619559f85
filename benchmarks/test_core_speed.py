"""pytest-benchmark suite: attention, a pre-training step, a fine-tuning step, full ranking; CPU and CUDA.

    python -m pytest benchmarks/test_core_speed.py --benchmark-columns=mean,stddev,rounds
    python -m pytest benchmarks/test_core_speed.py -k cuda --benchmark-columns=mean,stddev,rounds

Compare implementations by the ratio of their means in the same run. CUDA cases skip without a GPU and
synchronize inside the timed function. ``flex`` is timed forward only on CPU (torch has no CPU backward
for it) and never with dropout (it has none; ``ssrec.nn.attention``); its compilation happens in the
warm-up round, outside the timing.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

import ssrec
from ssrec.data import make_synthetic
from ssrec.data.batching import trim_leading_padding
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.data.sampling import UserItemIndex
from ssrec.data.split import leave_one_out
from ssrec.evaluation.ranking import encoder_scorer, rank_full
from ssrec.losses import SampledBCELoss
from ssrec.nn.attention import attention, attention_mask
from ssrec.training.composition import compose
from ssrec.training.precision import autocast

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda",
                        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"))]
TOKENS_PER_BATCH = 8192  # attention batches hold B x L = 8192 query positions at every length


def synchronized(fn: Callable[[], object], device: str) -> Callable[[], None]:
    """``fn`` followed by a device synchronisation, so the timing covers the queued kernels."""
    def run() -> None:
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
    return run


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward+backward"])
@pytest.mark.parametrize("length", [50, 200, 512, 1024, 2048])
@pytest.mark.parametrize("implementation", ["eager", "sdpa", "flex"])
def test_attention(benchmark, implementation, length, backward, device):
    if implementation == "flex" and backward and device == "cpu":
        pytest.skip("torch has no CPU backward for FlexAttention")
    batch = max(1, TOKENS_PER_BATCH // length)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(batch, 2, length, 32, generator=g).to(device).requires_grad_(backward) for _ in range(3))
    items = torch.randint(1, 100, (batch, length), generator=g)
    items[: batch // 2, : length // 2] = 0  # half the rows half padding
    mask = attention_mask(items.to(device), causal=True)

    def step() -> None:
        out = attention(q, k, v, mask, implementation=implementation)
        if backward:
            out.sum().backward()

    benchmark.pedantic(synchronized(step, device), rounds=5, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module")
def beauty_sized():
    """A synthetic catalogue of Beauty's size (12,101 items, 1,221 attributes), 5,000 users."""
    return leave_one_out(make_synthetic(num_users=5000, num_items=12101, num_categories=1221, seed=0), max_len=50)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_pretrain_step(benchmark, beauty_sized, precision, device):
    """One S3-Rec step: all four objectives, a batch of 100 prefix samples, backward and Adam."""
    torch.manual_seed(0)
    dataset = beauty_sized.dataset
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset).to(device).train()
    data = pretrain_samples(dataset, 50)
    data.to(torch.device(device))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator(device=device).manual_seed(0)
    samples = torch.randperm(data.num_samples, generator=torch.Generator().manual_seed(0))[:100].to(device)

    def step() -> None:
        with autocast(torch.device(device), precision):
            total, _ = model(data.batch(samples), data, g)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    benchmark.pedantic(synchronized(step, device), rounds=10, iterations=1, warmup_rounds=2)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_finetune_step(benchmark, beauty_sized, precision, device):
    """One SASRec step: 256 users, one sampled negative per position, backward and Adam."""
    torch.manual_seed(0)
    model = ssrec.create_backbone("sasrec", num_items=beauty_sized.dataset.num_items).to(device).train()
    loss_fn = SampledBCELoss(UserItemIndex(beauty_sized.dataset, torch.device(device)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    users = torch.arange(256)
    x, y = trim_leading_padding(beauty_sized.train_inputs[users], beauty_sized.train_targets[users])
    x, y, users = x.to(device), y.to(device), users.to(device)
    g = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        with autocast(torch.device(device), precision):
            loss = loss_fn(model.encode(x, causal=True), y, users, model.item_embeddings.weight, g)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    benchmark.pedantic(synchronized(step, device), rounds=10, iterations=1, warmup_rounds=2)


@pytest.mark.parametrize("device", DEVICES)
def test_full_ranking_evaluation(benchmark, beauty_sized, device):
    """Every user of the split ranked against all 12,101 items (history masked), in memory-bounded chunks."""
    model = ssrec.create_backbone("sasrec", num_items=beauty_sized.dataset.num_items).to(device).eval()
    benchmark.pedantic(synchronized(lambda: rank_full(encoder_scorer(model), beauty_sized, "test", device=device),
                                    device), rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("implementation", ["full-logits", "chunked"])
def test_full_softmax_loss(benchmark, implementation, precision, device):
    """The ce loss over Beauty's 12,101 items for 2,000 target positions, forward and backward: the (T, N)
    logits of F.cross_entropy against ssrec.nn.linear_cross_entropy."""
    import torch.nn.functional as F

    from ssrec.nn.linear_cross_entropy import linear_cross_entropy

    g = torch.Generator().manual_seed(0)
    h = torch.randn(2000, 64, generator=g).to(device).requires_grad_()
    table = (0.1 * torch.randn(12101, 64, generator=g)).to(device).requires_grad_()
    targets = torch.randint(0, 12101, (2000,), generator=g).to(device)

    def step() -> None:
        with autocast(torch.device(device), precision):
            if implementation == "chunked":
                loss = linear_cross_entropy(h, table, targets)
            else:
                loss = F.cross_entropy(h @ table.T, targets)
        torch.autograd.grad(loss, (h, table))

    benchmark.pedantic(synchronized(step, device), rounds=5, iterations=1, warmup_rounds=1)
