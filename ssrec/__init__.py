"""ssrec: self-supervised pre-training of sequential recommenders, with pluggable backbones and objectives.

``import ssrec`` stays cheap: it imports neither torch nor any plugin, and the plugin manager is built
on the first call that needs it.
"""
from __future__ import annotations

import importlib
from typing import Any

from ssrec.hookspecs import hookimpl
from ssrec.plugins import create_backbone, create_loss, create_objective, list_backbones, list_losses, list_objectives

__version__ = "0.1.0"

# Exports imported on first attribute access (``ssrec.NAME``), so that ``import ssrec`` does not pull in
# torch: name -> module that defines it. Add data/training exports here (and to ``__all__``).
_LAZY_EXPORTS: dict[str, str] = {
    "load_dataset": "ssrec.data", "from_sequences": "ssrec.data", "make_synthetic": "ssrec.data",
    "from_dataframe": "ssrec.data",
    "SequenceDataset": "ssrec.data", "DataFormatError": "ssrec.data",
    "leave_one_out": "ssrec.data.split",
    "FinetuneConfig": "ssrec.training.finetuning", "finetune": "ssrec.training.finetuning",
    "evaluate": "ssrec.evaluation.ranking", "encoder_scorer": "ssrec.evaluation.ranking",
    "save_checkpoint": "ssrec.io.checkpoint", "load_checkpoint": "ssrec.io.checkpoint",
    "rebuild_backbone": "ssrec.io.checkpoint",
    "compose": "ssrec.training.composition", "PretrainModel": "ssrec.training.composition",
    "pretrain_samples": "ssrec.data.pretrain_data",
    "PretrainConfig": "ssrec.training.pretraining", "pretrain": "ssrec.training.pretraining",
}

__all__ = ["__version__", "hookimpl", "list_backbones", "list_objectives", "list_losses", "create_backbone",
           "create_objective", "create_loss", *_LAZY_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        value = getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ssrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})
