"""The plugin manager and registries, with throwaway plugins and a fake installed distribution."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from torch import nn

import ssrec
from ssrec import plugins
from ssrec.hookspecs import hookimpl
from ssrec.plugins import PluginError, UnknownPluginError

REPO = Path(__file__).resolve().parents[1]
FAKE_DIST = "fake-ssrec-plugin"
FAKE_MODULES = ("fake_ssrec_plugin", "fake_ssrec_broken", "fake_ssrec_typo")


class Dummy(nn.Module):
    """A stand-in backbone/objective that records its keyword arguments."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.kwargs = kwargs


class BackbonePlugin:
    """A throwaway plugin registering backbones ``names`` (all built by ``Dummy``)."""

    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def ssrec_register_backbones(self, register: Callable[..., None]) -> None:
        for name in self.names:
            register(name, Dummy, description=f"test backbone {name}")


@pytest.fixture
def pm(monkeypatch: pytest.MonkeyPatch) -> Iterator[plugins.PluginManager]:
    """A fresh process-wide manager with built-ins only (no entry points); dropped afterwards."""
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset_plugin_manager()
    yield plugins.get_plugin_manager()
    plugins.reset_plugin_manager()


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed-looking distribution ``fake-ssrec-plugin`` with a good, a broken and a mistyped plugin."""
    (tmp_path / "fake_ssrec_plugin.py").write_text(textwrap.dedent("""
        from torch import nn
        from ssrec import hookimpl

        class FakeObjective(nn.Module):
            def __init__(self, weight=1.0):
                super().__init__()
                self.weight = weight

        @hookimpl
        def ssrec_register_objectives(register):
            register("fake-objective", FakeObjective, description="an objective from an entry point")
    """))
    (tmp_path / "fake_ssrec_broken.py").write_text("raise ImportError('fake plugin is broken')\n")
    (tmp_path / "fake_ssrec_typo.py").write_text(textwrap.dedent("""
        from ssrec import hookimpl

        @hookimpl
        def ssrec_epoch_ends(stage, epoch, logs):
            pass
    """))
    info = tmp_path / "fake_ssrec_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {FAKE_DIST}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[ssrec]\nfake = fake_ssrec_plugin\nbroken = fake_ssrec_broken\ntypo = fake_ssrec_typo\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates import caches
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    plugins.reset_plugin_manager()
    yield tmp_path
    plugins.reset_plugin_manager()
    for name in FAKE_MODULES:
        sys.modules.pop(name, None)


# ----------------------------------------------------------------------------------------- construction

def test_import_ssrec_is_lazy() -> None:
    code = ("import sys, ssrec, ssrec.plugins as p; "
            "print(p._manager is None, 'torch' in sys.modules, 'ssrec.backbones' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                         check=True).stdout.split()
    assert out == ["True", "False", "False"], "import ssrec must not build the manager, import torch or plugins"


def test_manager_is_built_once_and_reset(pm: plugins.PluginManager) -> None:
    assert plugins.get_plugin_manager() is pm
    plugins.reset_plugin_manager()
    assert plugins._manager is None
    assert plugins.get_plugin_manager() is not pm


def test_builtins_register_through_the_same_hooks(pm: plugins.PluginManager) -> None:
    assert pm.get_plugin("ssrec.backbones") is sys.modules["ssrec.backbones"]
    assert pm.get_plugin("ssrec.objectives") is sys.modules["ssrec.objectives"]
    callers = {impl.plugin_name for impl in pm.hook.ssrec_register_backbones.get_hookimpls()}
    callers |= {impl.plugin_name for impl in pm.hook.ssrec_register_objectives.get_hookimpls()}
    assert callers <= {"ssrec.backbones", "ssrec.objectives"}
    for entry in [*plugins.backbone_entries().values(), *plugins.objective_entries().values()]:
        assert entry.plugin in {"ssrec.backbones", "ssrec.objectives"}
        assert entry.distribution == "ssrec"
    assert plugins.failed_plugins() == []


def test_builtin_that_cannot_be_imported_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "BUILTIN_PLUGINS", ("ssrec.no_such_builtin",))
    with pytest.raises(PluginError, match="pip install -e"):
        plugins.build_plugin_manager(autoload=False)


# ----------------------------------------------------------------------------------------- registries

def test_throwaway_backbone_is_listed_and_built(pm: plugins.PluginManager) -> None:
    pm.register(BackbonePlugin("toy"), name="toyplug")
    assert "toy" in ssrec.list_backbones()
    assert ssrec.list_backbones() == sorted(ssrec.list_backbones())
    module = ssrec.create_backbone("toy", num_items=7, hidden_size=4)
    assert isinstance(module, Dummy)
    assert module.kwargs == {"num_items": 7, "hidden_size": 4}
    assert module.name == "toy"
    entry = plugins.backbone_entries()["toy"]
    assert (entry.plugin, entry.distribution, entry.description) == ("toyplug", None, "test backbone toy")


def test_existing_name_attribute_is_kept(pm: plugins.PluginManager) -> None:
    class Named(Dummy):
        name = "own-name"

    class Plugin:
        @hookimpl
        def ssrec_register_objectives(self, register: Callable[..., None]) -> None:
            register("named", Named)

    pm.register(Plugin(), name="namedplug")
    assert ssrec.list_objectives() == sorted({*ssrec.list_objectives(), "named"})
    assert ssrec.create_objective("named").name == "own-name"


def test_unregistering_a_plugin_updates_the_registry(pm: plugins.PluginManager) -> None:
    plugin = BackbonePlugin("short-lived")
    pm.register(plugin, name="shortplug")
    assert "short-lived" in ssrec.list_backbones()
    pm.unregister(plugin)
    assert "short-lived" not in ssrec.list_backbones()


def test_duplicate_name_names_both_origins(pm: plugins.PluginManager) -> None:
    pm.register(BackbonePlugin("twin"), name="first")
    pm.register(BackbonePlugin("twin"), name="second")
    with pytest.raises(PluginError, match="backbone 'twin' is registered twice: by plugin 'first' and by plugin "
                                          "'second'"):
        ssrec.list_backbones()


def test_unknown_name_lists_the_available_ones(pm: plugins.PluginManager) -> None:
    pm.register(BackbonePlugin("zeta", "alpha"), name="letters")
    with pytest.raises(UnknownPluginError) as err:
        ssrec.create_backbone("nope")
    assert isinstance(err.value, KeyError)
    available = ", ".join(ssrec.list_backbones())
    assert str(err.value) == f"unknown backbone 'nope'; available: {available}"
    assert "alpha, " in available


def test_failing_register_hook_is_reported_and_skipped(pm: plugins.PluginManager,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hookimpl
        def ssrec_register_backbones(self, register: Callable[..., None]) -> None:
            register("half-registered", Dummy)
            raise RuntimeError("boom")

    pm.register(Broken(), name="brokenplug")
    pm.register(BackbonePlugin("fine"), name="fineplug")
    with caplog.at_level(logging.WARNING, logger="ssrec.plugins"):
        names = ssrec.list_backbones()
    assert "fine" in names and "half-registered" not in names
    [failed] = plugins.failed_plugins()
    assert failed.name == "brokenplug" and "RuntimeError: boom" in failed.error
    assert "plugin 'brokenplug'" in caplog.text and "boom" in caplog.text


@pytest.mark.parametrize("args", [("", Dummy), ("not-callable", 42)])
def test_invalid_registration_is_a_plugin_failure(pm: plugins.PluginManager, args: tuple[Any, Any]) -> None:
    class Bad:
        @hookimpl
        def ssrec_register_backbones(self, register: Callable[..., None]) -> None:
            register(*args)

    pm.register(Bad(), name="badplug")
    ssrec.list_backbones()
    assert [f.name for f in plugins.failed_plugins()] == ["badplug"]


# ----------------------------------------------------------------------------------------- entry points

def test_entry_point_plugin_is_discovered_with_its_distribution(fake_dist: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ssrec.plugins"):
        pm = plugins.get_plugin_manager()
    assert pm.has_plugin("fake")
    assert "fake-objective" in ssrec.list_objectives()
    entry = plugins.objective_entries()["fake-objective"]
    assert (entry.plugin, entry.distribution) == ("fake", FAKE_DIST)
    objective = ssrec.create_objective("fake-objective", weight=0.5)
    assert objective.weight == 0.5 and objective.name == "fake-objective"

    failed = {f.name: f for f in plugins.failed_plugins()}
    assert failed["broken"].distribution == FAKE_DIST
    assert failed["broken"].error == "ImportError: fake plugin is broken"
    assert "plugin 'broken' (from fake-ssrec-plugin) failed to load: ImportError: fake plugin is broken" in caplog.text
    # a hook name ssrec does not define drops that plugin only, instead of failing check_pending()
    assert "ssrec_epoch_ends" in failed["typo"].error and not pm.has_plugin("typo")


def test_duplicate_with_entry_point_plugin_names_its_distribution(fake_dist: Path) -> None:
    class Clash:
        @hookimpl
        def ssrec_register_objectives(self, register: Callable[..., None]) -> None:
            register("fake-objective", Dummy)

    plugins.get_plugin_manager().register(Clash(), name="clash")
    with pytest.raises(PluginError, match=r"objective 'fake-objective' is registered twice: by plugin 'fake' "
                                          r"\(fake-ssrec-plugin\) and by plugin 'clash'"):
        ssrec.create_objective("fake-objective")


def test_autoload_can_be_disabled(fake_dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    assert "fake-objective" not in ssrec.list_objectives()
    assert plugins.failed_plugins() == []
    assert plugins.build_plugin_manager(autoload=True).has_plugin("fake")
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "")  # empty means not set
    assert plugins.build_plugin_manager().has_plugin("fake")
    assert not plugins.build_plugin_manager(autoload=False).has_plugin("fake")


# ----------------------------------------------------------------------------------------- lifecycle, output

def test_epoch_end_reaches_plugins(pm: plugins.PluginManager) -> None:
    seen: list[tuple[str, int, dict[str, float]]] = []

    class Watcher:
        @hookimpl
        def ssrec_epoch_end(self, stage: str, epoch: int, logs: dict[str, float]) -> None:
            seen.append((stage, epoch, logs))
            logs["loss"] = -1.0  # must not leak back

    pm.register(Watcher(), name="watcher")
    logs = {"loss": 0.25}
    plugins.notify_epoch_end("pretrain", 3, logs)
    assert seen == [("pretrain", 3, {"loss": -1.0})] and logs == {"loss": 0.25}
    with pytest.raises(ValueError, match="stage"):
        plugins.notify_epoch_end("training", 1, logs)


def test_describe_plugins_shape_and_table(pm: plugins.PluginManager) -> None:
    pm.register(BackbonePlugin("toy"), name="toyplug")
    described = plugins.describe_plugins()
    assert set(described) == {"backbones", "objectives", "losses"}
    assert described["backbones"]["toy"] == {"description": "test backbone toy", "plugin": "toyplug",
                                             "distribution": None}
    for kind in described.values():
        for info in kind.values():
            assert set(info) == {"description", "plugin", "distribution"}
    assert json.loads(json.dumps(described)) == described

    failed = [plugins.FailedPlugin("broken", "some-dist", "ImportError: nope")]
    table = plugins.format_plugins_table(described, failed).splitlines()
    assert table[0].split() == ["KIND", "NAME", "PROVIDED", "BY", "DESCRIPTION"]
    assert any(line.split()[:2] == ["backbone", "toy"] and line.endswith("test backbone toy") for line in table)
    assert table[-1] == "FAILED: plugin 'broken' (from some-dist): ImportError: nope"
    assert plugins.format_plugins_table({"backbones": {}, "objectives": {}, "losses": {}}, []) == \
        "no backbones, objectives or losses are registered"
