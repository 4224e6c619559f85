"""The plugin manager and the backbone, objective and loss registries built from its discovery hooks.

The manager is built lazily, by ``build_plugin_manager``, on the first call that needs it, never at
import time: the built-in plugins (``ssrec.backbones``, ``ssrec.objectives``, ``ssrec.losses``) first, then the
``ssrec`` entry points of installed distributions unless ``SSREC_DISABLE_PLUGIN_AUTOLOAD`` is set. A
plugin that fails to load, or whose register hook raises, is logged, listed by ``failed_plugins()`` and
skipped; the others work. Every registry entry remembers which plugin, from which distribution,
registered it, so that a name registered twice is an error naming both origins.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from ssrec import hookspecs

if TYPE_CHECKING:
    from ssrec.contracts import Encoder, NextItemLoss, Objective

log = logging.getLogger(__name__)

#: Entry-point group third-party distributions declare their plugins in.
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
#: Set to a non-empty value to skip entry-point plugins (built-ins still load).
DISABLE_AUTOLOAD_ENV = "SSREC_DISABLE_PLUGIN_AUTOLOAD"
#: Built-in plugin modules, registered under their module name, in this order.
BUILTIN_PLUGINS = ("ssrec.backbones", "ssrec.objectives", "ssrec.losses")
BUILTIN_DISTRIBUTION = "ssrec"
STAGES = frozenset({"finetune", "pretrain"})
#: registry kind -> (its discovery hook, its plural in ``describe_plugins``)
KINDS = {"backbone": ("ssrec_register_backbones", "backbones"),
         "objective": ("ssrec_register_objectives", "objectives"),
         "loss": ("ssrec_register_losses", "losses")}


class PluginError(Exception):
    """A plugin problem that makes a registry unusable (e.g. a name registered twice)."""


class UnknownPluginError(PluginError, KeyError):
    """No backbone, objective or loss is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class PluginEntry:
    """One registered backbone, objective or loss and where it came from."""

    name: str
    factory: Callable[..., Any]
    description: str
    #: The name of the plugin that registered it (the entry-point name for third parties).
    plugin: str
    #: The distribution providing that plugin; ``None`` for a plugin registered at run time in code.
    distribution: str | None


@dataclass(frozen=True)
class FailedPlugin:
    """A plugin that could not be loaded, or whose register hook raised."""

    name: str
    distribution: str | None
    error: str


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers plugin distributions, load failures and built registries."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        #: plugin name -> the distribution providing it (built-ins and entry points only).
        self.distributions: dict[str, str] = {}
        self.load_failures: list[FailedPlugin] = []
        self._registries: dict[str, tuple[dict[str, PluginEntry], list[FailedPlugin]]] = {}

    def register(self, plugin: object, name: str | None = None) -> str | None:
        self._registries.clear()
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        self._registries.clear()
        return super().unregister(plugin, name)

    def registry(self, kind: str) -> tuple[dict[str, PluginEntry], list[FailedPlugin]]:
        """The ``kind`` ("backbone", "objective" or "loss") registry and its register-hook failures, cached."""
        if kind not in self._registries:
            self._registries[kind] = _build_registry(self, kind)
        return self._registries[kind]


def build_plugin_manager(*, autoload: bool | None = None) -> PluginManager:
    """Build a plugin manager: hookspecs, built-in plugins, then (if ``autoload``) entry-point plugins.

    ``autoload=None`` loads entry points unless ``SSREC_DISABLE_PLUGIN_AUTOLOAD`` is set non-empty.
    """
    pm = PluginManager()
    for module_name in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            raise PluginError(f"built-in plugin {module_name} is not importable: ssrec must be installed "
                              "(`pip install -e .`), since pyproject maps backbones/ and objectives/ into "
                              "the ssrec package") from exc
        pm.register(module, name=module_name)
        pm.distributions[module_name] = BUILTIN_DISTRIBUTION
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if autoload:
        _load_entry_points(pm)
    _drop_plugins_with_unknown_hooks(pm)
    pm.check_pending()
    return pm


def _load_entry_points(pm: PluginManager) -> None:
    """Register every ``ssrec`` entry point; one that fails is recorded and logged, never fatal."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        try:
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                other = pm.distributions.get(ep.name)
                raise PluginError(f"the plugin name {ep.name!r} is already taken"
                                  + (f" by distribution {other!r}" if other else ""))
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the others
            _record_load_failure(pm, ep.name, dist, exc)
            continue
        if dist is not None:
            pm.distributions[ep.name] = dist


def _drop_plugins_with_unknown_hooks(pm: PluginManager) -> None:
    """Unregister and report third-party plugins implementing a hook ssrec does not define.

    ``check_pending()`` would reject the whole manager for one plugin's typo; built-ins still go there.
    """
    for hook_name in list(vars(pm.hook)):
        hook = getattr(pm.hook, hook_name)
        if hook_name.startswith("_") or hook.has_spec():
            continue
        for impl in hook.get_hookimpls():
            dist = pm.distributions.get(impl.plugin_name)
            if impl.optionalhook or dist == BUILTIN_DISTRIBUTION or not pm.is_registered(impl.plugin):
                continue
            pm.unregister(impl.plugin)
            _record_load_failure(pm, impl.plugin_name, dist,
                                 PluginError(f"implements {hook_name!r}, which is not an ssrec hook"))


def _record_load_failure(pm: PluginManager, name: str, dist: str | None, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"
    log.warning("plugin %r (from %s) failed to load: %s", name, dist or "unknown distribution", error)
    pm.load_failures.append(FailedPlugin(name, dist, error))


def _origin(entry: PluginEntry) -> str:
    return f"plugin {entry.plugin!r}" + (f" ({entry.distribution})" if entry.distribution else "")


def _make_register(kind: str, plugin: str, dist: str | None, pending: list[PluginEntry]) -> hookspecs.Register:
    """A ``register`` callback that appends to ``pending``, recording ``plugin`` and ``dist`` as the origin."""

    def register(name: str, factory: Callable[..., Any], *, description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")
        if not callable(factory):
            raise TypeError(f"{kind} {name!r}: factory must be callable, got {factory!r}")
        pending.append(PluginEntry(name, factory, str(description), plugin, dist))

    return register


def _build_registry(pm: PluginManager, kind: str) -> tuple[dict[str, PluginEntry], list[FailedPlugin]]:
    """Call each plugin's discovery hook for ``kind`` in turn, so that each entry knows its origin."""
    hook_name = KINDS[kind][0]
    hook = getattr(pm.hook, hook_name)
    entries: dict[str, PluginEntry] = {}
    failures: list[FailedPlugin] = []
    for impl in hook.get_hookimpls():  # registration order: built-ins first
        if impl.hookwrapper or impl.wrapper:
            continue
        dist = pm.distributions.get(impl.plugin_name)
        pending: list[PluginEntry] = []
        args = {"register": _make_register(kind, impl.plugin_name, dist, pending)}
        try:
            impl.function(*[args[a] for a in impl.argnames])
        except Exception as exc:  # noqa: BLE001 - skip this plugin's entries, keep the others
            error = f"{hook_name} raised {type(exc).__name__}: {exc}"
            log.warning("plugin %r (from %s) failed to register %s: %s", impl.plugin_name,
                        dist or "unknown distribution", KINDS[kind][1], error)
            failures.append(FailedPlugin(impl.plugin_name, dist, error))
            continue
        for entry in pending:
            if entry.name in entries:
                raise PluginError(f"{kind} {entry.name!r} is registered twice: by {_origin(entries[entry.name])} "
                                  f"and by {_origin(entry)}")
            entries[entry.name] = entry
    return entries, failures


# ----------------------------------------------------------------------------------------- the manager

_manager: PluginManager | None = None
_lock = threading.RLock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = build_plugin_manager()
    return _manager


def reset_plugin_manager() -> None:
    """Forget the manager and its registries; the next use rebuilds them (tests, after installs)."""
    global _manager
    with _lock:
        _manager = None


# ----------------------------------------------------------------------------------------- registries

def backbone_entries() -> dict[str, PluginEntry]:
    """Registered backbones by name."""
    return dict(get_plugin_manager().registry("backbone")[0])


def objective_entries() -> dict[str, PluginEntry]:
    """Registered objectives by name."""
    return dict(get_plugin_manager().registry("objective")[0])


def loss_entries() -> dict[str, PluginEntry]:
    """Registered fine-tuning losses by name."""
    return dict(get_plugin_manager().registry("loss")[0])


def failed_plugins() -> list[FailedPlugin]:
    """Plugins that failed to load or to register, in the order they failed."""
    pm = get_plugin_manager()
    return [*pm.load_failures, *(failure for kind in KINDS for failure in pm.registry(kind)[1])]


def list_backbones() -> list[str]:
    """Names of the registered backbones, sorted."""
    return sorted(backbone_entries())


def list_objectives() -> list[str]:
    """Names of the registered objectives, sorted."""
    return sorted(objective_entries())


def list_losses() -> list[str]:
    """Names of the registered fine-tuning losses, sorted."""
    return sorted(loss_entries())


def _create(kind: str, entries: dict[str, PluginEntry], name: str, kwargs: dict[str, Any]) -> Any:
    if name not in entries:
        raise UnknownPluginError(f"unknown {kind} {name!r}; available: {', '.join(sorted(entries)) or 'none'}")
    factory = entries[name].factory
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:  # an option the factory does not take: say which, and which it takes
        raise ValueError(f"{kind} {name!r}: {exc}; its options: {_options(factory)}") from None
    except ValueError:  # a factory without a signature (a builtin): let the call say it
        pass
    try:
        module = factory(**kwargs)
    except TypeError as exc:  # a factory taking **kwargs passed an unknown option on
        if "unexpected keyword argument" not in str(exc):
            raise
        raise ValueError(f"{kind} {name!r}: {exc}") from None
    if not hasattr(module, "name"):
        module.name = name
    return module


def create_backbone(name: str, **kwargs: Any) -> Encoder:
    """Build the backbone registered as ``name`` with keyword arguments (``num_items``, hyper-parameters).

    The module's ``name`` attribute is set to ``name`` unless it has one. Raises ``UnknownPluginError``
    (a ``KeyError``) listing the available names.
    """
    return _create("backbone", backbone_entries(), name, kwargs)


def create_backbone_for(name: str, *, num_items: int, num_users: int, **kwargs: Any) -> Encoder:
    """``create_backbone`` for a data set: ``num_users`` is passed only to a factory that names it (Caser)."""
    entries = backbone_entries()
    if name in entries and "num_users" in inspect.signature(entries[name].factory).parameters:
        kwargs["num_users"] = num_users
    return create_backbone(name, num_items=num_items, **kwargs)


def create_objective(name: str, **kwargs: Any) -> Objective:
    """Build the objective registered as ``name``; otherwise as ``create_backbone``."""
    return _create("objective", objective_entries(), name, kwargs)


def create_loss(name: str, **kwargs: Any) -> NextItemLoss:
    """Build the fine-tuning loss registered as ``name`` with its options; otherwise as ``create_backbone``."""
    return _create("loss", loss_entries(), name, kwargs)


def _options(factory: Callable[..., Any]) -> str:
    """The keyword options a factory takes, for error messages."""
    names = [p.name for p in inspect.signature(factory).parameters.values()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return ", ".join(names) or "none"


def describe_plugins() -> dict[str, dict[str, dict[str, str | None]]]:
    """``{"backbones": {name: {"description", "plugin", "distribution"}}, "objectives": ..., "losses": ...}``, sorted.

    This is what ``ssrec plugins --json`` prints.
    """
    def describe(entries: dict[str, PluginEntry]) -> dict[str, dict[str, str | None]]:
        return {name: {"description": e.description, "plugin": e.plugin, "distribution": e.distribution}
                for name, e in sorted(entries.items())}

    return {plural: describe(dict(get_plugin_manager().registry(kind)[0])) for kind, (_, plural) in KINDS.items()}


def format_plugins_table(desc: dict[str, dict[str, dict[str, str | None]]], failed: list[FailedPlugin]) -> str:
    """A human-readable table of ``describe_plugins()`` output, then one line per failed plugin."""
    rows = [("KIND", "NAME", "PROVIDED BY", "DESCRIPTION")]
    for kind, entries in desc.items():
        for name, info in entries.items():
            singular = {"losses": "loss"}.get(kind, kind.removesuffix("s"))
            rows.append((singular, name, info["distribution"] or f"plugin {info['plugin']}",
                         info["description"] or ""))
    if len(rows) == 1:
        lines = ["no backbones, objectives or losses are registered"]
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[3]]).rstrip() for row in rows]
    for f in failed:
        lines.append(f"FAILED: plugin {f.name!r} (from {f.distribution or 'unknown distribution'}): {f.error}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- lifecycle

def notify_epoch_end(stage: str, epoch: int, logs: dict[str, float]) -> None:
    """Broadcast ``ssrec_epoch_end`` to every plugin (once per epoch, never per step)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {sorted(STAGES)}, got {stage!r}")
    get_plugin_manager().hook.ssrec_epoch_end(stage=stage, epoch=epoch, logs=dict(logs))
