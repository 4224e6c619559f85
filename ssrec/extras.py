"""Optional dependencies ("extras"): importing one, or saying which extra to install."""
from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message says which extra to install."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """``import module``, or MissingExtra naming ``purpose`` and ``pip install 'ssrec[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs {module.split('.')[0]}: pip install 'ssrec[{extra}]'") from None
