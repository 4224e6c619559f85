"""Fixtures for tests/ and benchmarks/ alike: the real data sets, which skip cleanly where ../shared is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent


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
