"""A search space: TOML over the run spec's own keys, in the idioms of RecBole's ``hyper.test`` files.

    # space.toml: one key per searched setting, dotted as in the run spec
    "finetune.lr" = { choice = [0.01, 0.005, 0.001, 0.0005, 0.0001] }
    "backbone.attention_dropout" = { choice = [0.2, 0.5] }
    "backbone.num_layers" = { range = [1, 3] }              # integers low..high (and a step: [1, 9, 2])
    "finetune.weight_decay" = { loguniform = [1e-6, 1e-2] } # the bounds themselves (RecBole writes their logs)
    "backbone.dropout" = { uniform = [0.1, 0.5] }           # also quniform = [low, high, q]
    "pretrain.epochs" = { choice = [50, 100, 150] }

Keys: the fields of the spec's tables (``finetune.lr``, ``pretrain.epochs``, ``data.max_len``, ...), a
backbone's options as ``backbone.OPTION``, a loss's as ``finetune.loss_options.OPTION``. ``read_space``
checks every key and every extreme value against the base spec (the spec, the backbone, the loss must
accept it) before any trial runs; a problem raises ``SpaceError`` naming the file and the key.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssrec.runs.config_file import read_toml
from ssrec.runs.spec import (
    BackboneSpec,
    DataSpec,
    FinetuneSpec,
    PretrainSpec,
    ProtocolSpec,
    RunSpec,
    SpecError,
    spec_from_dict,
    spec_to_dict,
)

SPEC_CLASSES: dict[str, type] = {"data": DataSpec, "backbone": BackboneSpec, "pretrain": PretrainSpec,
                                 "finetune": FinetuneSpec, "protocol": ProtocolSpec}
KINDS = ("choice", "uniform", "loguniform", "quniform", "range")


class SpaceError(ValueError):
    """A search space that cannot be searched; the message names the file and the key."""


@dataclass(frozen=True)
class Dimension:
    """One searched key: ``kind`` with its ``values`` (choice) or bounds (low, high, step)."""

    key: str
    kind: str
    values: tuple[Any, ...]

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial draws for this key."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.values))
        if self.kind == "range":
            low, high, step = self.values
            return trial.suggest_int(self.key, low, high, step=step)
        if self.kind == "quniform":
            low, high, q = self.values
            return trial.suggest_float(self.key, low, high, step=q)
        low, high = self.values
        return trial.suggest_float(self.key, low, high, log=self.kind == "loguniform")

    def extremes(self) -> tuple[Any, ...]:
        """The values that must all be acceptable: every choice, or both bounds."""
        return self.values if self.kind == "choice" else self.values[:2]


def read_space(path: str | Path, base: RunSpec) -> tuple[Dimension, ...]:
    """The dimensions of the space file ``path``, each checked against ``base``."""
    path = Path(path)
    table = read_toml(path, "space", SpaceError)
    table = table.get("space", table)  # the keys may sit under [space]
    if not table:
        raise SpaceError(f"{path}: no key to search; write e.g. \"finetune.lr\" = {{ choice = [0.001, 0.0005] }}")
    dimensions = tuple(_dimension(path, key, value) for key, value in table.items())
    for dimension in dimensions:
        for value in dimension.extremes():
            check_value(base, dimension.key, value, f"{path}: {dimension.key}")
    return dimensions


def _dimension(path: Path, key: str, value: Any) -> Dimension:
    where = f"{path}: {key}"
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in KINDS:
        raise SpaceError(f"{where}: expected one of {', '.join(KINDS)}, e.g. {{ choice = [1, 2] }}, got {value!r}")
    kind, spec = next(iter(value.items()))
    if not isinstance(spec, list) or not spec:
        raise SpaceError(f"{where}: {kind} needs a non-empty list, got {spec!r}")
    if kind == "choice":
        if len(set(map(repr, spec))) != len(spec):
            raise SpaceError(f"{where}: choice names a value twice: {spec!r}")
        return Dimension(key, kind, tuple(spec))
    numbers = [v for v in spec if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if len(numbers) != len(spec):
        raise SpaceError(f"{where}: {kind} bounds must be finite numbers, got {spec!r}")
    if kind == "range":
        if not all(isinstance(v, int) for v in spec) or len(spec) not in (2, 3):
            raise SpaceError(f"{where}: range takes integers [low, high] or [low, high, step], got {spec!r}")
        low, high, step = (*spec, 1) if len(spec) == 2 else spec
        if low > high or step < 1:
            raise SpaceError(f"{where}: range needs low <= high and step >= 1, got {spec!r}")
        return Dimension(key, kind, (low, high, step))
    if len(spec) != (3 if kind == "quniform" else 2):
        raise SpaceError(f"{where}: {kind} takes [low, high{', q' if kind == 'quniform' else ''}], got {spec!r}")
    low, high = float(spec[0]), float(spec[1])
    if not low < high:
        raise SpaceError(f"{where}: {kind} needs low < high, got {spec!r}")
    if kind == "loguniform" and low <= 0:
        raise SpaceError(f"{where}: loguniform bounds are the values themselves and must be > 0, got {spec!r} "
                         "(RecBole's hyper.test writes their natural logs: loguniform -8, 0 is [0.000335, 1.0])")
    if kind == "quniform" and not spec[2] > 0:
        raise SpaceError(f"{where}: quniform's q must be > 0, got {spec!r}")
    return Dimension(key, kind, (low, high, float(spec[2])) if kind == "quniform" else (low, high))


def apply_values(base: RunSpec, values: dict[str, Any]) -> RunSpec:
    """``base`` with each dotted key of ``values`` set (a ``SpecError`` names a key that does not fit)."""
    plain = spec_to_dict(base)
    for key, value in values.items():
        _set(plain, key, value)
    return spec_from_dict(plain, where="trial")


def check_value(base: RunSpec, key: str, value: Any, where: str) -> None:
    """Refuse ``key = value`` unless the spec, and the backbone or loss it configures, accept it."""
    from ssrec.plugins import create_backbone_for, create_loss

    try:
        spec = apply_values(base, {key: value})
        create_backbone_for(spec.backbone.name, num_items=10, num_users=5, max_len=spec.data.max_len,
                            **spec.backbone.options)
        if spec.finetune is not None:
            create_loss(spec.finetune.loss, **spec.finetune.loss_options)
    except (SpecError, ValueError, KeyError, TypeError) as exc:
        text = str(exc).removeprefix("trial: ")
        if text.startswith("unknown key"):
            raise SpaceError(f"{where.split(': ')[0]}: {text}") from None
        raise SpaceError(f"{where} = {value!r} is refused: {text}") from None


def _set(plain: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` of a ``spec_to_dict`` dictionary: a field of a table, a backbone option
    (``backbone.OPTION``) or a loss option (``finetune.loss_options.OPTION``)."""
    table, _, rest = key.partition(".")
    if table not in SPEC_CLASSES or not rest:
        raise SpecError(f"unknown key {key!r}; keys are TABLE.FIELD with TABLE one of {', '.join(SPEC_CLASSES)}")
    if not isinstance(plain.get(table), dict):
        raise SpecError(f"unknown key {key!r}: the base spec has no [{table}] stage")
    node = plain[table]
    fields = [f.name for f in dataclasses.fields(SPEC_CLASSES[table])]
    if table == "backbone" and rest not in ("name", "options") and "." not in rest:
        node.setdefault("options", {})[rest] = copy.deepcopy(value)  # checked by building the backbone
    elif table == "finetune" and rest.startswith("loss_options.") and rest.count(".") == 1:
        node.setdefault("loss_options", {})[rest.split(".")[1]] = copy.deepcopy(value)  # checked by the loss
    elif rest in fields and rest not in ("objectives", "options", "loss_options"):
        node[rest] = copy.deepcopy(value)
    else:
        raise SpecError(f"unknown key {key!r}; the fields of [{table}]: {', '.join(fields)}"
                        + (" (and OPTION of the backbone)" if table == "backbone" else ""))
