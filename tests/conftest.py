"""Shared fixtures (``shared_dir`` and ``shared_data``, the real data sets, live in the root conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    """A small synthetic data set written as an S3-Rec .txt file."""
    from ssrec.data import make_synthetic

    data = make_synthetic(num_users=150, num_items=160, seed=1)
    path = tmp_path / "Tiny.txt"
    path.write_text("".join(f"{u} {' '.join(map(str, data.sequence(i)))}\n" for i, u in enumerate(data.users)))
    return path


def _cpp_compiler_problem() -> str | None:
    """Why torch.compile cannot build CPU kernels here (no C++ compiler), or None when it can."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception as exc:  # torch raises its own error type naming what it searched for
        return f"torch.compile on CPU needs a C++ compiler: {exc}"
    return None


#: for tests that compile kernels on CPU (the 'flex' attention): skipped, with the reason, without a compiler
needs_cpp_compiler = pytest.mark.skipif(_cpp_compiler_problem() is not None,
                                        reason=str(_cpp_compiler_problem()))
