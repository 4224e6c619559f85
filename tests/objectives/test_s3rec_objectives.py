"""Each S3-Rec objective against a direct, loop-based re-implementation of REFERENCE.md on a fixed batch."""
from __future__ import annotations

import math

import pytest
import torch

import ssrec
from ssrec.contracts import MemoKey
from ssrec.data import make_synthetic
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.training.composition import StepContext, compose, masked_view_key


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def project(layer: torch.nn.Linear, h: torch.Tensor) -> list[float]:
    """W h + b, by loops over rows of W."""
    w, bias = layer.weight.tolist(), layer.bias.tolist()
    hl = h.tolist()
    return [dot(w[i], hl) + bias[i] for i in range(len(w))]


def bce(p: float, y: float) -> float:
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


@pytest.fixture(scope="module")
def setup():
    dataset = make_synthetic(num_users=60, num_items=40, num_categories=6, seed=1)
    data = pretrain_samples(dataset, max_len=12)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("transformer", num_items=dataset.num_items, hidden_size=16, max_len=12,
                                    inner_size=32)
    model = compose(encoder, ["aap", "mip", "map", "sp"], dataset).eval()  # eval: no dropout, so passes repeat
    lengths = data.lengths
    samples = torch.cat([torch.nonzero(lengths == n)[:2, 0] for n in (1, 2, 5, 9, 12)])
    return dataset, data, model, data.batch(samples)


def step_for(model, data, seed: int = 7) -> StepContext:
    return StepContext(model.encoder, data, torch.Generator().manual_seed(seed), model.attribute_embeddings)


def never() -> None:
    raise AssertionError("view should already be memoised")


def attribute_reference(model, dataset, batch, view, head, positions) -> float:
    """Multi-label BCE summed over the selected positions and every attribute (column 0 included)."""
    hidden = model.encoder.encode(view.items)  # a separate pass over the masked view
    table = model.attribute_embeddings.weight.tolist()
    total = 0.0
    for b in range(batch.items.shape[0]):
        for t in range(batch.items.shape[1]):
            if not positions(int(view.items[b, t]), bool(view.masked[b, t])):
                continue
            wh = project(head, hidden[b, t])
            attrs = set(dataset.attributes.of(int(batch.items[b, t])).tolist())
            for a in range(len(table)):
                total += bce(sigmoid(dot(wh, table[a])), 1.0 if a in attrs else 0.0)
    return total


@torch.no_grad()
def test_aap_equals_the_loop_reference(setup):
    dataset, data, model, batch = setup
    step = step_for(model, data)
    loss = model.objectives["aap"].loss(batch, step)
    view = step.memo(masked_view_key(0.2), never)
    mask_id = dataset.num_items + 1
    expected = attribute_reference(model, dataset, batch, view, model.objectives["aap"].projection,
                                   lambda item, masked: item not in (0, mask_id))
    assert loss.item() == pytest.approx(expected, rel=1e-4)


@torch.no_grad()
def test_map_equals_the_loop_reference(setup):
    dataset, data, model, batch = setup
    step = step_for(model, data)
    loss = model.objectives["map"].loss(batch, step)
    view = step.memo(masked_view_key(0.2), never)
    expected = attribute_reference(model, dataset, batch, view, model.objectives["map"].projection,
                                   lambda item, masked: masked)
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def record_negatives(monkeypatch) -> list[torch.Tensor]:
    import ssrec.objectives.masked_item as mip_module

    seen: list[torch.Tensor] = []
    original = mip_module.sample_excluding

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.clone())
        return out

    monkeypatch.setattr(mip_module, "sample_excluding", recording)
    return seen


def mip_reference(model, batch, view, negatives: torch.Tensor, score) -> float:
    hidden = model.encoder.encode(view.items)
    items = model.encoder.item_embeddings.weight.tolist()
    head = model.objectives["mip"].projection
    total, k = 0.0, 0
    for b in range(batch.items.shape[0]):
        for t in range(batch.items.shape[1]):
            if not view.masked[b, t]:
                continue
            prefix = set(batch.items[b].tolist())
            assert not prefix & set(negatives[k].tolist()), "a negative is an item of the sample"
            wh = project(head, hidden[b, t])
            f_pos = dot(wh, items[int(batch.items[b, t])])
            f_neg = [dot(wh, items[int(n)]) for n in negatives[k]]
            total += score(f_pos, f_neg)
            k += 1
    assert k == len(negatives)
    return total


@torch.no_grad()
def test_mip_equals_the_loop_reference_with_the_double_sigmoid(setup, monkeypatch):
    _, data, model, batch = setup
    seen = record_negatives(monkeypatch)
    step = step_for(model, data)
    loss = model.objectives["mip"].loss(batch, step)
    view = step.memo(masked_view_key(0.2), never)
    expected = mip_reference(model, batch, view, seen[0],
                             lambda p, ns: sum(bce(sigmoid(sigmoid(p) - sigmoid(n)), 1.0) for n in ns))
    assert seen[0].shape[1] == 1
    assert loss.item() == pytest.approx(expected, rel=1e-4)


@torch.no_grad()
def test_mip_infonce_option_equals_the_loop_reference(setup, monkeypatch):
    dataset, data, model, batch = setup
    mip = ssrec.create_objective("mip", num_negatives=4, infonce=True, reduction="mean")
    mip.setup(_context(model, dataset))
    mip.projection.load_state_dict(model.objectives["mip"].projection.state_dict())
    seen = record_negatives(monkeypatch)
    step = step_for(model, data)
    loss = mip.loss(batch, step)
    view = step.memo(masked_view_key(0.2), never)

    def infonce(p: float, ns: list[float]) -> float:
        return -p + math.log(math.exp(p) + sum(math.exp(n) for n in ns))

    expected = mip_reference(model, batch, view, seen[0], infonce) / int(view.masked.sum())
    assert seen[0].shape[1] == 4
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def _context(model, dataset):
    from ssrec.training.composition import ObjectiveContext

    return ObjectiveContext(model.encoder.hidden_size, dataset.num_items, dataset.attributes.num_attributes)


@torch.no_grad()
def test_sp_equals_the_loop_reference_with_three_separate_passes(setup):
    _, data, model, batch = setup
    step = step_for(model, data)
    loss = model.objectives["sp"].loss(batch, step)
    views = step.memo(MemoKey("sp", "segments"), never)
    head = model.objectives["sp"].projection
    total = 0.0
    for b in range(batch.items.shape[0]):
        # the release encodes context, positive and negative in three separate passes
        s, p, n = (model.encoder.encode(v[b:b + 1])[0, -1] for v in (views.context, views.positive, views.negative))
        ws = project(head, s)
        total += bce(sigmoid(sigmoid(dot(ws, p.tolist())) - sigmoid(dot(ws, n.tolist()))), 1.0)
    assert loss.item() == pytest.approx(total, rel=1e-4)


@torch.no_grad()
def test_total_is_the_weighted_sum_and_masked_objectives_share_one_pass(setup, monkeypatch):
    _, data, model, batch = setup
    calls: list[tuple[str, tuple[int, ...]]] = []
    for method in ("encode", "summarize"):
        original = getattr(model.encoder, method)
        monkeypatch.setattr(model.encoder, method, lambda items, _m=method, _f=original, **kw:
                            calls.append((_m, tuple(items.shape))) or _f(items, **kw))
    total, parts = model(batch, data, torch.Generator().manual_seed(3))
    B, L = batch.items.shape
    # one masked pass shared by AAP, MIP and MAP; one batched last-position pass over SP's 3B rows
    assert calls == [("encode", (B, L)), ("summarize", (3 * B, L))]
    expected = 0.2 * parts["aap"] + parts["mip"] + parts["map"] + 0.5 * parts["sp"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_every_objective_trains_its_head_and_the_encoder(setup):
    _, data, model, batch = setup
    model.train()
    try:
        total, _ = model(batch, data, torch.Generator().manual_seed(0))
        model.zero_grad()
        total.backward()
        for name, param in model.named_parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0, name
    finally:
        model.eval()


@torch.no_grad()
def test_same_seed_same_losses(setup):
    _, data, model, batch = setup
    a = model(batch, data, torch.Generator().manual_seed(11))[1]
    b = model(batch, data, torch.Generator().manual_seed(11))[1]
    c = model(batch, data, torch.Generator().manual_seed(12))[1]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
