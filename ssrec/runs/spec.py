"""What a run is, typed: the data, the backbone, the objectives, both training stages and the protocol.

    spec = RunSpec(data=DataSpec("Beauty.txt"), backbone=BackboneSpec("sasrec"),
                   finetune=FinetuneSpec(loss="ce"), protocol=ProtocolSpec("full"))
    spec = dataclasses.replace(spec, finetune=dataclasses.replace(spec.finetune, lr=5e-4))   # a tuning trial

Every field is checked when the spec is built: a value no run could use raises ``SpecError`` naming the
field (``finetune.epochs must be an integer >= 1, got 0``) before any file is read or written. The defaults
are the released S3-Rec settings; ``default_spec(command)`` gives each command's starting point, and the
command line and config files only override fields of it (``ssrec.runs.config_file``).
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ssrec.evaluation.protocol import VALID_METRIC
from ssrec.evaluation.ranking import METRICS
from ssrec.training.precision import PRECISIONS
from ssrec.training.stopping import RULES as STOPPING_RULES

PROTOCOLS: tuple[str, ...] = tuple(VALID_METRIC)
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


class SpecError(ValueError):
    """A run spec field that no run could use; the message names the field and what was expected."""


def _integer(where: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SpecError(f"{where} must be an integer >= {minimum}, got {value!r}")


def _number(where: str, value: Any, *, positive: bool) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise SpecError(f"{where} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"{where} must be one of {', '.join(choices)}, got {value!r}")


def _options(where: str, value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise SpecError(f"{where} must be a table of named options, got {value!r}")


@dataclass(frozen=True)
class DataSpec:
    """The interactions, their item attributes, and the sequence length the models see."""

    path: str | None = None  # S3-Rec .txt, RecBole .inter or .parquet; None: the embedded synthetic data set
    attributes: str | None = None  # None: the file beside ``path`` when there is one
    attribute_fields: tuple[str, ...] | None = None  # RecBole .item fields / parquet columns used as attributes
    max_len: int = 50

    def __post_init__(self) -> None:
        _integer("data.max_len", self.max_len, 1)
        if self.attribute_fields is not None and (not self.attribute_fields or not all(self.attribute_fields)):
            raise SpecError(f"data.attribute_fields must name at least one field, got {self.attribute_fields!r}")


@dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone (``ssrec plugins``) and its hyper-parameters."""

    name: str = "sasrec"
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"hidden_size": 64, "dropout": 0.5}

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"backbone.name must be a registered backbone's name, got {self.name!r}")
        _options("backbone.options", self.options)
        if "max_len" in self.options or "num_items" in self.options:
            raise SpecError("backbone.options: max_len and num_items come from the data (data.max_len), not options")


@dataclass(frozen=True)
class ObjectiveSpec:
    """A registered pre-training objective, its weight (None: the objective's default) and its options."""

    name: str
    weight: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"pretrain.objectives: a name must be a registered objective, got {self.name!r}")
        if self.weight is not None:
            _number(f"pretrain.objectives.{self.name}.weight", self.weight, positive=False)
        _options(f"pretrain.objectives.{self.name}.options", self.options)


#: S3-Rec's four objectives with their released weights
S3REC_OBJECTIVES = (ObjectiveSpec("aap"), ObjectiveSpec("mip"), ObjectiveSpec("map"), ObjectiveSpec("sp"))


@dataclass(frozen=True)
class PretrainSpec:
    """Self-supervised pre-training; the defaults are the released ones (the release ran 100-150 epochs)."""

    objectives: tuple[ObjectiveSpec, ...] = S3REC_OBJECTIVES
    epochs: int = 100
    batch_size: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    bucketing: bool = True  # length-bucketed batches (False: the release's plain random batches)
    checkpoint_every: int = 10  # epochs between pretrained-epoch-K.pt checkpoints (0: only the final one)
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if not self.objectives:
            raise SpecError("pretrain.objectives must name at least one objective")
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise SpecError(f"pretrain.objectives names an objective twice: {names}")
        _integer("pretrain.epochs", self.epochs, 1)
        _integer("pretrain.batch_size", self.batch_size, 1)
        _number("pretrain.lr", self.lr, positive=True)
        _number("pretrain.weight_decay", self.weight_decay, positive=False)
        _integer("pretrain.checkpoint_every", self.checkpoint_every, 0)
        _choice("pretrain.precision", self.precision, PRECISIONS)


@dataclass(frozen=True)
class FinetuneSpec:
    """Next-item fine-tuning with early stopping; the defaults are the released ones but for batching and stopping
    (``ssrec.training.finetuning``), whose released forms are ``bucketing=False`` and ``stopping="released"``."""

    loss: str = "bce"  # a registered loss: bce (released), ce, bpr, sampled-softmax, gbce
    loss_options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 200
    stopping: str = "ssrec"  # early stopping: "ssrec" (outlasts plateaus) or "released" (patience 10)
    patience: int | None = None  # None: the stopping rule's own
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    bucketing: bool = True  # length-bucketed, token-weighted batches (False: the release's random batches)
    precision: str = "fp32"
    init: str | None = None  # a checkpoint to start from (pre-trained or fine-tuned)

    def __post_init__(self) -> None:
        if not isinstance(self.loss, str) or not self.loss:
            raise SpecError(f"finetune.loss must be a registered loss's name, got {self.loss!r}")
        _options("finetune.loss_options", self.loss_options)
        _integer("finetune.epochs", self.epochs, 1)
        _choice("finetune.stopping", self.stopping, tuple(STOPPING_RULES))
        if self.patience is not None:
            _integer("finetune.patience", self.patience, 1)
        _integer("finetune.batch_size", self.batch_size, 1)
        _number("finetune.lr", self.lr, positive=True)
        _number("finetune.weight_decay", self.weight_decay, positive=False)
        _choice("finetune.precision", self.precision, PRECISIONS)


@dataclass(frozen=True)
class ProtocolSpec:
    """How models are ranked: all items ("full"), or the target among 99 fixed negatives ("sampled")."""

    name: str = "full"
    negatives: str | None = None  # sampled: a file of ``user neg1 ... neg99``; None: generated with the seed
    valid_metric: str | None = None  # None: the released one, MRR (sampled) or NDCG@20 (full)

    def __post_init__(self) -> None:
        _choice("protocol.name", self.name, PROTOCOLS)
        if self.negatives is not None and self.name != "sampled":
            raise SpecError("protocol.negatives is a file of the sampled protocol; protocol.name is 'full'")
        if self.valid_metric is not None:
            _choice("protocol.valid_metric", self.valid_metric, METRICS)

    @property
    def metric(self) -> str:
        """The validation metric early stopping and model selection read."""
        return self.valid_metric or VALID_METRIC[self.name]


@dataclass(frozen=True)
class RunSpec:
    """One run: pre-training (optional), fine-tuning (optional), both on the same data and backbone."""

    data: DataSpec = field(default_factory=DataSpec)
    backbone: BackboneSpec = field(default_factory=BackboneSpec)
    pretrain: PretrainSpec | None = None
    finetune: FinetuneSpec | None = field(default_factory=FinetuneSpec)
    protocol: ProtocolSpec = field(default_factory=ProtocolSpec)
    seed: int = 42
    device: str = "auto"  # cpu, cuda, cuda:N, mps, or auto (cuda where available)

    def __post_init__(self) -> None:
        _integer("seed", self.seed, 0)
        if not isinstance(self.device, str) or not DEVICE_PATTERN.fullmatch(self.device):
            raise SpecError(f"device must be cpu, cuda, cuda:N, mps or auto, got {self.device!r}")
        if self.pretrain is None and self.finetune is None:
            raise SpecError("a run needs a pretrain or a finetune stage (or both)")
        if self.pretrain is not None and self.finetune is not None and self.finetune.init is not None:
            raise SpecError("finetune.init and a pretrain stage exclude each other: the fine-tuning starts from "
                            "the pre-training's checkpoint")


def default_spec(command: str) -> RunSpec:
    """Where each command starts before its config file and options apply (the released settings).

    ``pretrain``: the Transformer with S3-Rec's objectives; ``finetune``/``evaluate``: SASRec under the sampled
    protocol; ``run``: a short (5-epoch) S3-Rec pre-training of the Transformer, then fine-tuning, full ranking.
    """
    if command == "pretrain":
        return RunSpec(backbone=BackboneSpec("transformer"), pretrain=PretrainSpec(), finetune=None)
    if command in ("finetune", "evaluate"):
        return RunSpec(protocol=ProtocolSpec("sampled"))
    if command == "run":
        return RunSpec(backbone=BackboneSpec("transformer"), pretrain=PretrainSpec(epochs=5), protocol=ProtocolSpec())
    raise ValueError(f"no run spec for command {command!r}")


# ----------------------------------------------------------------------------------------- plain data

def spec_to_dict(spec: RunSpec) -> dict[str, Any]:
    """The spec as nested plain values (tables, lists, str/int/float/bool); None fields are left out."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if getattr(value, f.name) is not None}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(spec)


def spec_from_dict(values: dict[str, Any], where: str = "spec") -> RunSpec:
    """Build a spec from ``spec_to_dict``'s shape; an unknown or mistyped key raises ``SpecError`` naming it."""
    def build(cls: type, table: Any, prefix: str) -> Any:
        if not isinstance(table, dict):
            raise SpecError(f"{where}: {prefix} must be a table, got {table!r}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise SpecError(f"{where}: unknown key {prefix}.{unknown[0]}; known keys of [{prefix}]: "
                            + ", ".join(known))
        kwargs = dict(table)
        if cls is PretrainSpec and "objectives" in kwargs:
            if not isinstance(kwargs["objectives"], list):
                raise SpecError(f"{where}: pretrain.objectives must be a list of tables (name, weight, options)")
            kwargs["objectives"] = tuple(build(ObjectiveSpec, o, "pretrain.objectives") for o in kwargs["objectives"])
        if cls is DataSpec and kwargs.get("attribute_fields") is not None:
            kwargs["attribute_fields"] = tuple(kwargs["attribute_fields"])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise SpecError(f"{where}: [{prefix}] {exc}") from None

    parts = {"data": DataSpec, "backbone": BackboneSpec, "pretrain": PretrainSpec, "finetune": FinetuneSpec,
             "protocol": ProtocolSpec}
    unknown = sorted(set(values) - set(parts) - {"seed", "device"})
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join([*parts, 'seed', 'device'])}")
    kwargs: dict[str, Any] = {name: build(cls, values[name], name) for name, cls in parts.items() if name in values}
    kwargs.setdefault("pretrain", None)
    kwargs.setdefault("finetune", None)
    for key in ("seed", "device"):
        if key in values:
            kwargs[key] = values[key]
    return RunSpec(**kwargs)
