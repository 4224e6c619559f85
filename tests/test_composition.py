"""Composing backbones with objectives: the built-in registry, weights, and impossible compositions."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import ssrec
from ssrec.contracts import CAUSAL, Objective
from ssrec.data import from_sequences, make_synthetic
from ssrec.training.composition import compose


@pytest.fixture(scope="module")
def dataset():
    return make_synthetic(num_users=30, num_items=25, num_categories=4, max_len=12, seed=0)


def encoder(num_items: int, name: str = "transformer") -> nn.Module:
    return ssrec.create_backbone(name, num_items=num_items, hidden_size=8, max_len=10, inner_size=16)


class SummaryOnly(nn.Module):
    """A backbone producing a sequence summary only (like Caser): no per-position output."""

    name = "summary-only"
    capabilities = frozenset({CAUSAL})
    default_causal = True
    spec: dict = {}

    def __init__(self, num_items: int) -> None:
        super().__init__()
        self.hidden_size = 8
        self.item_embeddings = nn.Embedding(num_items + 2, 8)

    def encode(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        summary = self.item_embeddings(items).sum(1, keepdim=True)  # (B, 1, H)
        return summary.expand(-1, items.shape[1], -1)


def test_the_four_s3rec_objectives_are_registered_plugins():
    assert {"aap", "mip", "map", "sp"} <= set(ssrec.list_objectives())
    for name in ("aap", "mip", "map", "sp"):
        objective = ssrec.create_objective(name)
        assert isinstance(objective, Objective) and objective.name == name


def test_default_weights_are_the_released_ones(dataset):
    model = compose(encoder(dataset.num_items), ["aap", "mip", "map", "sp"], dataset)
    assert model.weights == {"aap": 0.2, "mip": 1.0, "map": 1.0, "sp": 0.5}
    assert model.attribute_embeddings.weight.shape == (dataset.attributes.num_attributes, 8)


def test_weights_from_a_mapping_or_keyword(dataset):
    assert compose(encoder(dataset.num_items), {"mip": 2.0, "sp": 0.0}, dataset).weights == {"mip": 2.0, "sp": 0.0}
    model = compose(encoder(dataset.num_items), ["mip", "sp"], dataset, weights={"sp": 3})
    assert model.weights == {"mip": 1.0, "sp": 3.0}
    assert model.attribute_embeddings is None  # no attribute objective, no attribute table


def test_attribute_objective_on_data_without_attributes_fails_at_build_time():
    plain = from_sequences([[1, 2, 3, 4]] * 3)
    with pytest.raises(ValueError, match=r"objective 'aap' needs item attributes, but data set 'arrays' has none"):
        compose(encoder(plain.num_items), ["mip", "aap"], plain)


def test_per_position_objective_on_a_summary_backbone_fails_at_build_time(dataset):
    with pytest.raises(ValueError, match=r"objective 'mip' needs a backbone with per_position output, "
                                         r"but backbone 'summary-only' only offers causal"):
        compose(SummaryOnly(dataset.num_items), ["sp", "mip"], dataset)
    compose(SummaryOnly(dataset.num_items), ["sp"], dataset)  # SP reads the last position only


@pytest.mark.parametrize("objectives, weights, message", [
    ([], None, "at least one objective"),
    (["mip", "mip"], None, "distinct"),
    (["mip"], {"sp": 1.0}, r"weights given for \['sp'\]"),
    (["mip"], {"mip": -1.0}, "finite number >= 0"),
    (["mip"], {"mip": float("nan")}, "finite number >= 0"),
])
def test_bad_compositions_say_why(dataset, objectives, weights, message):
    with pytest.raises(ValueError, match=message):
        compose(encoder(dataset.num_items), objectives, dataset, weights=weights)


def test_a_backbone_for_another_catalogue_is_refused(dataset):
    with pytest.raises(ValueError, match=r"item table has 12 rows \(N \+ 2 for N = 10 items\), but data set "
                                         r"'synthetic' has 25 items; build it with num_items=25"):
        compose(encoder(10), ["mip"], dataset)


def test_unknown_objective_lists_the_available_ones(dataset):
    with pytest.raises(KeyError, match=r"unknown objective 'mlp'; available: .*aap.*mip"):
        compose(encoder(dataset.num_items), ["mlp"], dataset)


@pytest.mark.parametrize("name, kwargs, message", [
    ("mip", {"num_negatives": 0}, "num_negatives must be >= 1"),
    ("sp", {"reduction": "avg"}, "reduction must be one of"),
])
def test_bad_objective_options_say_why(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ssrec.create_objective(name, **kwargs)


def test_causal_backbone_pretrains_unidirectionally(dataset, monkeypatch):
    sasrec = encoder(dataset.num_items, "sasrec")
    model = compose(sasrec, ["mip", "sp"], dataset)
    from ssrec.data.pretrain_data import pretrain_samples

    data = pretrain_samples(dataset, max_len=10)
    modes = []
    for method in ("encode", "summarize"):
        original = getattr(sasrec, method)
        monkeypatch.setattr(sasrec, method,
                            lambda items, causal=None, _f=original: modes.append(causal) or _f(items, causal=causal))
    model(data.batch(torch.arange(16)), data, torch.Generator().manual_seed(0))
    assert modes == [None, None]  # the backbone's default mode: causal for SASRec


@pytest.mark.parametrize("name", ssrec.list_backbones())
def test_every_registered_backbone_pretrains_with_the_objectives_it_can_serve(dataset, name):
    """S3-Rec's objectives run on every backbone with per-position output (the paper's Fig. 3 setting)."""
    from ssrec.contracts import PER_POSITION
    from ssrec.data.pretrain_data import pretrain_samples

    torch.manual_seed(0)
    backbone = ssrec.create_backbone(name, num_items=dataset.num_items, hidden_size=8, max_len=10)
    objectives = ["aap", "mip", "map", "sp"] if PER_POSITION in backbone.capabilities else ["sp"]
    model = compose(backbone, objectives, dataset)
    data = pretrain_samples(dataset, max_len=10)
    total, parts = model(data.batch(torch.arange(32)), data, torch.Generator().manual_seed(0))
    total.backward()
    assert set(parts) == set(objectives) and torch.isfinite(total)
    assert backbone.item_embeddings.weight.grad.abs().sum() > 0
