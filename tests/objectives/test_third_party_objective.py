"""A third-party objective, registered as a throwaway plugin, composes and pre-trains like the built-ins."""
from __future__ import annotations

import re
import textwrap

import pytest
import torch

import ssrec
from ssrec import hookspecs, plugins
from ssrec.data import make_synthetic
from ssrec.data.pretrain_data import pretrain_samples
from ssrec.training.composition import compose
from ssrec.training.pretraining import PretrainConfig, pretrain


@pytest.fixture
def example_plugin(monkeypatch):
    """The example of ``ssrec_register_objectives``'s docstring, executed as a plugin module."""
    doc = hookspecs.ssrec_register_objectives.__doc__
    code = textwrap.dedent(re.search(r"Example \(a complete objective plugin\)::\n\n(.*)", doc, re.S).group(1))
    namespace = {"torch": torch, "hookimpl": ssrec.hookimpl}
    exec(compile(code, "<hookspec example>", "exec"), namespace)
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset_plugin_manager()
    register = staticmethod(namespace["ssrec_register_objectives"])
    plugin = type("ExamplePlugin", (), {"ssrec_register_objectives": register})
    plugins.get_plugin_manager().register(plugin, name="example")
    yield
    plugins.reset_plugin_manager()


def test_the_documented_example_objective_pretrains_with_mip(example_plugin):
    assert "next-item" in ssrec.list_objectives()
    assert plugins.objective_entries()["next-item"].plugin == "example"
    dataset = make_synthetic(num_users=40, num_items=30, num_categories=4, max_len=12, seed=0)
    torch.manual_seed(0)
    encoder = ssrec.create_backbone("sasrec", num_items=dataset.num_items, hidden_size=16, max_len=12)
    model = compose(encoder, ["next-item", "mip"], dataset)
    result = pretrain(model, pretrain_samples(dataset, 12), PretrainConfig(epochs=2))
    assert all(torch.isfinite(torch.tensor(h["next-item"])) for h in result.history)
    assert result.history[1]["next-item"] < result.history[0]["next-item"]
