"""pytest-benchmark suite: reading the released data sets and building the synthetic one (CPU).

    python -m pytest benchmarks/test_data_speed.py --benchmark-columns=mean,stddev,rounds

The released files are read from ../shared/data (the root conftest's ``shared_data``) and skip where it is
absent.
"""
from __future__ import annotations

import pytest

from ssrec.data import make_synthetic
from ssrec.data.s3rec_format import read_s3rec


@pytest.mark.parametrize("name", ["beauty/Beauty", "lastfm/LastFM"])
def test_read_released_data_set(benchmark, shared_data, name):
    data = benchmark(read_s3rec, shared_data / f"{name}.txt", shared_data / f"{name}_item2attributes.json")
    assert data.num_users > 0


def test_make_synthetic(benchmark):
    data = benchmark(make_synthetic, seed=3)
    assert data.num_users > 0
