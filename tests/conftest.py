"""Shared fixtures. Tests that need the real data sets skip cleanly where ../shared is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path | None:
    candidates = [os.environ.get("SSREC_SHARED"), REPO.parent / "shared", REPO / "local-data"]
    for c in candidates:
        if c and (Path(c) / "data").is_dir():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (data sets and released checkpoints); skips the test where it is absent."""
    found = _shared_dir()
    if found is None:
        pytest.skip("../shared (data sets) is not present")
    return found


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    return shared_dir / "data"


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
