"""Property-based tests of every reader on random and malformed files.

Whatever the bytes, a reader either returns a data set that the rest of ssrec can use, or raises
``DataFormatError`` whose message starts with the offending file (and names a line inside it when it
names one; a DataFrame's row inside it). No other exception, and nothing from deep inside numpy or torch, may escape.
"""
from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ssrec.data import DataFormatError, load_dataset, make_synthetic, read_negatives  # noqa: E402
from ssrec.data.id_space import SLACK, SPARSITY  # noqa: E402
from ssrec.data.pretrain_data import pretrain_samples  # noqa: E402
from ssrec.data.split import leave_one_out  # noqa: E402

EXAMPLES = 200  # per property (8 properties): 1,600 generated inputs per run, the same ones every run
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ids a hostile file may hold: small valid ones, zero, negative, huge, overflowing, unicode digits, words
ids = st.one_of(st.integers(1, 12).map(str), st.integers(1, 12).map(str), st.just("0"),
                st.integers(-10**6, -1).map(str), st.integers(2000, 10**17).map(str),
                st.integers(10**17, 10**30).map(str),
                st.sampled_from(["٣", "１２", "1.5", "1e3", "0x1f", "NaN", "∞", "é", "\u200b7"]),
                st.text(min_size=1, max_size=4).filter(lambda t: not any(c.isspace() for c in t)))
users = st.one_of(st.sampled_from(["1", "2", "3", "alice", "ü", "1"]), ids)


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") + 1


def _read_or_clean_error(read: Callable[[], object], *paths: Path) -> object | None:
    """``read()``, or None after checking that its DataFormatError names one of ``paths`` (and a real line)."""
    try:
        result = read()
        event("accepted")
        return result
    except DataFormatError as error:
        event("refused: " + re.sub(r"'[^']*'|\S*\d\S*", "_", error.problem)[:40])
        assert error.path in {str(p) for p in paths}, f"the error names no input file: {error}"
        assert str(error).startswith(error.path)
        if error.line is not None:
            assert 1 <= error.line <= _lines_in(Path(error.path)), f"line {error.line} is outside the file: {error}"
        return None


def _usable(dataset) -> None:
    """What an accepted data set must satisfy for training not to fail later."""
    assert dataset.num_items <= SPARSITY * len(set(dataset.items.tolist())) + SLACK
    assert dataset.items.min() >= 1 and dataset.items.max() <= dataset.num_items
    split = leave_one_out(dataset, max_len=8)
    assert split.train_inputs.shape[0] == dataset.num_users
    samples = pretrain_samples(dataset, 8)
    assert samples.num_samples > 0
    if dataset.attributes is not None:
        assert dataset.attributes.num_attributes <= SPARSITY * len(set(dataset.attributes.values.tolist())) + SLACK + 1


@SETTINGS
@given(content=st.binary(max_size=400))
def test_binary_junk(content):
    with tempfile.TemporaryDirectory() as folder:
        for name in ("junk.txt", "junk.inter"):
            path = _write(Path(folder), name, content)
            dataset = _read_or_clean_error(functools.partial(load_dataset, path), path)
            if dataset is not None:
                _usable(dataset)


@st.composite
def mutated_rows(draw, valid_rows, hostile_cell) -> list[list[str]]:
    """Valid rows of cells, then up to three hostile edits: a bad cell, a repeated, emptied or cut row."""
    rows = [list(r) for r in draw(valid_rows)]
    for _ in range(draw(st.integers(0, 3))):
        if not rows:
            break
        r = draw(st.integers(0, len(rows) - 1))
        kind = draw(st.sampled_from(["cell", "cell", "cell", "key", "repeat", "empty", "cut", "extra"]))
        if kind == "cell" and rows[r]:
            column = draw(st.integers(min(1, len(rows[r]) - 1), len(rows[r]) - 1))  # mostly not the key
            rows[r][column] = draw(hostile_cell)
        elif kind == "key" and rows[r]:
            rows[r][0] = draw(hostile_cell)
        elif kind == "repeat":
            rows.insert(draw(st.integers(0, len(rows))), list(rows[r]))
        elif kind == "empty":
            rows[r] = []
        elif kind == "cut":
            rows[r] = rows[r][:draw(st.integers(0, 2))]
        else:
            rows[r].append(draw(hostile_cell))
    return rows


s3rec_valid = st.integers(1, 6).flatmap(lambda n: st.tuples(*(
    st.lists(st.integers(1, 15).map(str), min_size=3, max_size=7).map(lambda items, u=u: [str(u + 1), *items])
    for u in range(n))))
s3rec_lines = mutated_rows(s3rec_valid, ids).flatmap(
    lambda rows: st.sampled_from([" ", "\t", "  "]).map(lambda sep: "".join(sep.join(r) + "\n" for r in rows)))


@SETTINGS
@given(text=s3rec_lines, trailing=st.sampled_from(["", "\n", " ", "\n\n"]))
def test_s3rec_sequences(text, trailing):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "data.txt", text + trailing)
        dataset = _read_or_clean_error(lambda: load_dataset(path), path)
        if dataset is not None:
            _usable(dataset)


@SETTINGS
@given(rows=s3rec_valid, where=st.integers(0, 10**6), large=st.integers(16, 10**17))
def test_s3rec_large_item_ids(rows, where, large):
    rows = [list(r) for r in rows]
    row = rows[where % len(rows)]
    row[1 + where % (len(row) - 1)] = str(large)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "data.txt", "".join(" ".join(r) + "\n" for r in rows))
        dataset = _read_or_clean_error(lambda: load_dataset(path), path)
        if dataset is not None:
            _usable(dataset)


attribute_values = st.one_of(st.lists(st.one_of(st.integers(-3, 40), st.integers(10**4, 10**20)), max_size=5),
                             st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none()), max_size=3),
                             st.integers(), st.text(max_size=4), st.none(),
                             st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
hostile_attributes = st.one_of(attribute_values, st.integers(-3, 10**20))
attribute_files = st.one_of(
    # mostly valid: items of the sequences with small attribute lists, a few entries hostile
    st.lists(st.tuples(st.integers(1, 12).map(str), st.lists(st.integers(1, 30), max_size=4)), max_size=8).flatmap(
        lambda pairs: st.lists(st.tuples(ids, hostile_attributes), max_size=2).map(lambda bad: pairs + bad)).map(
        lambda pairs: "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "\n}"),
    st.dictionaries(ids, attribute_values, max_size=8).map(json.dumps),
    st.text(max_size=60), st.just("[]"), st.just(""))

VALID_SEQUENCES = "1 1 2 3 4\n2 2 3 5 6 7\n3 8 9 10 11 12\n"


@SETTINGS
@given(attributes=attribute_files)
def test_s3rec_attributes_that_disagree_with_the_sequences(attributes):
    with tempfile.TemporaryDirectory() as folder:
        data = _write(Path(folder), "data.txt", VALID_SEQUENCES)
        table = _write(Path(folder), "data_item2attributes.json", attributes)
        dataset = _read_or_clean_error(lambda: load_dataset(data, table), data, table)
        if dataset is not None:
            _usable(dataset)


recbole_fields = st.sampled_from(["user_id:token", "item_id:token", "timestamp:float", "rating:float",
                                  "user_id", "item_id:token_seq", "timestamp:token", "x:bogus", ""])
recbole_cells = st.one_of(ids, st.floats(allow_nan=True, allow_infinity=True).map(repr), st.just(""),
                          st.text(max_size=3))


recbole_valid = st.lists(st.tuples(st.sampled_from(["u1", "u2", "ü3"]), st.sampled_from(["i1", "i2", "i3", "i4"]),
                                   st.integers(0, 10**9).map(str)).map(list), max_size=14)
item_valid = st.lists(st.tuples(st.sampled_from(["i1", "i2", "i3", "i9"]),
                                st.lists(st.sampled_from(["a", "b", "c"]), max_size=3).map(" ".join)).map(list),
                      max_size=5)


@SETTINGS
@given(header=st.one_of(st.just(["user_id:token", "item_id:token", "timestamp:float"]),
                        st.just(["timestamp:float", "rating:float", "item_id:token", "user_id:token"]),
                        st.lists(recbole_fields, max_size=4)),
       rows=mutated_rows(recbole_valid, recbole_cells), item_rows=mutated_rows(item_valid, recbole_cells))
def test_recbole_atomic_files(header, rows, item_rows):
    if "rating:float" in header:  # the same interactions in other column order, with an extra column
        rows = [[r[2], "1.0", r[1], r[0]] if len(r) == 3 else r for r in rows]
    with tempfile.TemporaryDirectory() as folder:
        inter = _write(Path(folder), "d.inter", "\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
        item = _write(Path(folder), "d.item", "item_id:token\tgenre:token_seq\n"
                      + "".join("\t".join(r) + "\n" for r in item_rows))
        dataset = _read_or_clean_error(lambda: load_dataset(inter, item), inter, item)
        if dataset is not None:
            _usable(dataset)


NEGATIVES_DATA = make_synthetic(num_users=4, num_items=300, seed=1)
negative_valid = st.permutations(list(range(1, 301))).map(lambda perm: [
    [user, *[str(i) for i in perm if i not in set(NEGATIVES_DATA.sequence(u).tolist())][:99]]
    for u, user in enumerate(NEGATIVES_DATA.users)])


@SETTINGS
@given(rows=st.one_of(mutated_rows(negative_valid, ids),
                      st.lists(st.tuples(users, st.lists(ids, max_size=101)).map(lambda t: [t[0], *t[1]]), max_size=6)))
def test_negatives_files(rows):
    dataset = NEGATIVES_DATA
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "neg.txt", "".join(" ".join(r) + "\n" for r in rows))
        negatives = _read_or_clean_error(lambda: read_negatives(path, dataset), path)
        if negatives is not None:
            assert negatives.shape == (dataset.num_users, 99)
            assert negatives.min() >= 1 and negatives.max() <= dataset.num_items


def test_sparse_item_and_attribute_ids_are_refused_at_their_line(tmp_path):
    data = _write(tmp_path, "data.txt", "1 1 2 3\n2 4 5 999999999\n")
    with pytest.raises(DataFormatError, match=r"data.txt:2: item id 999999999 is far beyond the 6 distinct item ids"):
        load_dataset(data)
    data = _write(tmp_path, "ok.txt", VALID_SEQUENCES)
    table = _write(tmp_path, "ok_item2attributes.json", '{\n"1": [1, 2],\n"2": [3, 123456789]\n}')
    with pytest.raises(DataFormatError, match=r"ok_item2attributes.json:3: attribute id 123456789 is far beyond"):
        load_dataset(data, table)


frame_cells = st.one_of(ids, st.integers(-10**18, 10**18), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                        st.just(""), st.booleans(), st.text(max_size=3))


@SETTINGS
@given(rows=mutated_rows(recbole_valid, frame_cells), columns=st.sampled_from([
    ["user_id", "item_id", "timestamp"], ["user_id", "item_id", "time"], ["item_id", "user_id", "timestamp"]]))
def test_dataframes(rows, columns):
    pd = pytest.importorskip("pandas")
    from ssrec.data import from_dataframe
    rows = [(list(r) + [None, None, None])[:3] for r in rows]  # a DataFrame is rectangular: short rows get gaps
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    try:
        dataset = from_dataframe(frame)
    except DataFormatError as error:
        event("refused: " + re.sub(r"'[^']*'|\S*\d\S*", "_", error.problem)[:40])
        assert str(error).startswith("<in-memory data>: ")
        match = re.match(r"row (\d+): ", error.problem)
        assert match is None or int(match.group(1)) < len(frame), f"row outside the frame: {error}"
        return
    event("accepted")
    _usable(dataset)
