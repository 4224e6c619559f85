"""pytest-benchmark suite: reading the released data sets and building the synthetic one (CPU).

    python -m pytest benchmarks/test_data_speed.py --benchmark-columns=mean,stddev,rounds

The released files are read from ../shared/data and skip where it is absent.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ssrec.data import make_synthetic
from ssrec.data.s3rec_format import read_s3rec

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.parametrize("name", ["beauty/Beauty", "lastfm/LastFM"])
def test_read_released_data_set(benchmark, name):
    if not (SHARED / f"{name}.txt").exists():
        pytest.skip("../shared (data sets) is not present")
    data = benchmark(read_s3rec, SHARED / f"{name}.txt", SHARED / f"{name}_item2attributes.json")
    assert data.num_users > 0


def test_make_synthetic(benchmark):
    data = benchmark(make_synthetic, seed=3)
    assert data.num_users > 0
