"""read_negatives / write_negatives: the sampled protocol's fixed negatives."""
from __future__ import annotations

import numpy as np
import pytest

from ssrec.data import DataFormatError, from_sequences, read_negatives, read_s3rec, write_negatives

# 3 users over items 1..10; user "b" owns 4, 5, 6
DATA = from_sequences([[1, 2, 3], [4, 5, 6], [7, 8, 9, 1]], users=["a", "b", "c"], num_items=10)


def write(tmp_path, text, name="neg.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "c 2 3 4\na 4 5 6\nb 1 2 3\n"


def test_rows_follow_the_data_set_user_order(tmp_path):
    negatives = read_negatives(write(tmp_path, GOOD), DATA, count=3)
    assert negatives.dtype == np.int64 and negatives.shape == (3, 3)
    assert negatives.tolist() == [[4, 5, 6], [1, 2, 3], [2, 3, 4]]


@pytest.mark.parametrize("text, line, problem", [
    ("a 4 5 6\nb 1 2 3\nz 4 5 6\n", 3, r"user 'z' is not in the data set 'arrays'"),
    ("a 4 5 6\nb 1 2 3\na 7 8 9\n", 3, r"user 'a' repeats line 1"),
    ("a 4 5 6\nb 1 2\nc 2 3 4\n", 2, r"user 'b' has 2 negatives; expected 'user neg1 \.\.\. neg3'"),
    ("a 4 5 6\nb 1 2 3 7\nc 2 3 4\n", 2, r"user 'b' has 4 negatives"),
    ("a 4 5 6\nb 1 x 3\nc 2 3 4\n", 2, r"negative 'x' is not a positive integer item id"),
    ("a 4 5 6\nb 1 -2 3\nc 2 3 4\n", 2, r"negative '-2' is not a positive integer item id"),
    ("a 4 5 6\nb 1 2 3\nc 2 3 11\n", 3, r"negative 11 is not an item id in 1\.\.10"),
    ("a 4 5 6\nb 1 0 3\nc 2 3 4\n", 2, r"negative 0 is not an item id in 1\.\.10"),
    ("a 4 5 6\nb 1 2 3\nc 2 3 2\n", 3, r"negative 2 appears twice; expected distinct negatives"),
    ("a 4 5 6\nb 1 5 3\nc 2 3 4\n", 2, r"negative 5 is an item of user 'b'; 1 such negatives in 1 lines"),
    ("a 4 5 6\n\nb 1 2 3\nc 2 3 4\n", 2, r"empty line; expected 'user neg1 \.\.\. neg3'"),
])
def test_bad_lines_name_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path, text, "Neg.txt")
    with pytest.raises(DataFormatError, match=rf"Neg\.txt:{line}: {problem}") as info:
        read_negatives(path, DATA, count=3)
    assert info.value.line == line


def test_a_missing_user_is_named(tmp_path):
    path = write(tmp_path, "a 4 5 6\nc 2 3 4\n", "Neg.txt")
    with pytest.raises(DataFormatError, match=r"Neg\.txt: 1 users of 'arrays' have no line, the first 'b'"):
        read_negatives(path, DATA, count=3)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope\.txt: no such file"):
        read_negatives(tmp_path / "nope.txt", DATA, count=3)


def test_write_then_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    data = from_sequences([rng.choice(np.arange(1, 41), 5, replace=False) for _ in range(30)], num_items=200)
    negatives = np.stack([rng.choice(np.arange(41, 201), 99, replace=False) for _ in range(30)])
    path = tmp_path / "out" / "negatives.txt"
    path.parent.mkdir()
    write_negatives(path, data, negatives)
    assert [p.name for p in path.parent.iterdir()] == ["negatives.txt"]  # no temp file left behind
    assert np.array_equal(read_negatives(path, data), negatives)
    lines = path.read_text().split("\n")
    assert len(lines) == 31 and lines[-1] == "" and lines[0].split()[0] == data.users[0]
    write_negatives(path, data, negatives[:, ::-1])  # replacing an existing file
    assert np.array_equal(read_negatives(path, data), negatives[:, ::-1])


def test_write_refuses_a_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(3, K\)"):
        write_negatives(tmp_path / "n.txt", DATA, np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"integer array"):
        write_negatives(tmp_path / "n.txt", DATA, np.ones((3, 3)))
    assert not list(tmp_path.iterdir())


def test_lastfm_sample_file(shared_data):
    data = read_s3rec(shared_data / "lastfm" / "LastFM.txt")
    path = shared_data / "lastfm" / "LastFM_sample.txt"
    negatives = read_negatives(path, data)  # also proves: no negative is one of the user's own items
    assert negatives.shape == (1090, 99)
    raw = {ln.split()[0]: [int(t) for t in ln.split()[1:]] for ln in path.read_text().splitlines()}
    for row in (0, 517, 1089):
        assert negatives[row].tolist() == raw[data.users[row]]
        assert not set(negatives[row].tolist()) & set(data.sequence(row).tolist())
