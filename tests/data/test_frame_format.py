"""from_dataframe / read_parquet: pandas DataFrames and parquet files, held to the RecBole reader's results."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from ssrec.data import DataFormatError, SequenceDataset, from_dataframe, load_dataset, read_parquet, read_recbole
from ssrec.extras import MissingExtra

pd = pytest.importorskip("pandas")

# user u9 appears first; its rows are out of time order and two share a timestamp (as in test_recbole_format)
ROWS = [
    ("u9", "m50", 30), ("u2", "m7", 5), ("u9", "m7", 10), ("u9", "m3", 20),
    ("u2", "m3", 1), ("u9", "m8", 20), ("u2", "m50", 9), ("u5", "m8", 3),
]
FRAME = pd.DataFrame(ROWS, columns=["user_id", "item_id", "timestamp"])
ITEMS = pd.DataFrame({"item_id": ["m3", "m7", "m8", "m50", "m99"],
                      "genre": [["drama", "war"], ["comedy"], [], ["drama"], ["noir"]],
                      "year": pd.array([1999, 1999, 2001, None, 1950], dtype="Int64"),
                      "price": [9.5, 3.0, 1.25, 4.0, 2.0]})


def same_dataset(a: SequenceDataset, b: SequenceDataset) -> bool:
    return (np.array_equal(a.items, b.items) and np.array_equal(a.offsets, b.offsets) and a.num_items == b.num_items
            and a.users == b.users and a.attributes == b.attributes)


def as_recbole(tmp_path, frame, items=None):
    """The same data written as RecBole atomic files, for the reference reader."""
    inter = tmp_path / "ref.inter"
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                     + "".join(f"{u}\t{i}\t{t}\n" for u, i, t in frame.itertuples(index=False)))
    if items is None:
        return read_recbole(inter)
    item = tmp_path / "ref.item"
    item.write_text("item_id:token\tgenre:token_seq\tyear:token\n" + "".join(
        f"{i}\t{' '.join(g)}\t{'' if pd.isna(y) else int(y)}\n" for i, g, y in items[["item_id", "genre", "year"]]
        .itertuples(index=False)))
    return read_recbole(inter, item)


def test_a_dataframe_reads_as_the_same_data_set_as_recbole_files(tmp_path, caplog):
    data = from_dataframe(FRAME)
    assert "dropped 1 users" in caplog.text  # u5 has one interaction
    assert data.users == ("u9", "u2") and data.sequence(0).tolist() == [2, 3, 4, 1]
    assert same_dataset(data, as_recbole(tmp_path, FRAME))


def test_list_columns_are_token_sequences_and_float_columns_are_not_attributes_by_default(tmp_path):
    data = from_dataframe(FRAME, items=ITEMS)
    assert same_dataset(data, as_recbole(tmp_path, FRAME, ITEMS))
    names = data.attributes.names
    assert "genre=drama" in names and "year=1999" in names and not any(n.startswith("price=") for n in names)
    m3 = 3  # ids by first appearance: m50=1, m7=2, m3=3, m8=4
    assert sorted(names[a] for a in data.attributes.of(m3)) == ["genre=drama", "genre=war", "year=1999"]
    picked = from_dataframe(FRAME, items=ITEMS, attribute_fields=["price"])
    assert picked.attributes.names[1:] == ("price=9.5", "price=3", "price=1.25", "price=4")  # rows of ITEMS, in order


def test_integer_ids_integral_floats_and_datetimes(tmp_path):
    frame = pd.DataFrame({"user_id": [7, 7, 7, 8, 8, 8], "item_id": [1.0, 2.0, 3.0, 3.0, 1.0, 2.0],
                          "timestamp": pd.to_datetime(["2021-03-01", "2020-01-01", "2022-01-01",
                                                       "2020-05-05", "2020-05-06", "2020-05-07"]).tz_localize("UTC")})
    data = from_dataframe(frame)
    assert data.users == ("7", "8")
    assert data.sequence(0).tolist() == [2, 1, 3] and data.sequence(1).tolist() == [3, 1, 2]


def test_large_integer_timestamps_keep_their_order():
    base = 2 ** 60  # float64 cannot tell base from base + 1
    frame = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "b", "c"], "timestamp": [base + 2, base + 1, base]})
    assert from_dataframe(frame).sequence(0).tolist() == [3, 2, 1]


def test_parquet_round_trip_and_load_dataset(tmp_path):
    pytest.importorskip("pyarrow")
    inter, items = tmp_path / "toy.parquet", tmp_path / "toy-items.parquet"
    FRAME.to_parquet(inter)
    ITEMS.to_parquet(items)
    data = read_parquet(inter, items)
    assert data.name == "toy" and data.source == str(inter)
    assert same_dataset(data, from_dataframe(FRAME, items=ITEMS))
    assert same_dataset(load_dataset(inter, items, attribute_fields=["genre"]),
                        from_dataframe(FRAME, items=ITEMS, attribute_fields=["genre"]))


@pytest.mark.parametrize("frame, problem", [
    (FRAME.rename(columns={"timestamp": "time"}),
     r"<in-memory data>: missing column 'timestamp'; columns present: user_id, item_id, time"),
    (FRAME.assign(user_id=["u9", None, "u9", "u9", "u2", "u9", "u2", "u5"]),
     r"<in-memory data>: row 1: missing user_id"),
    (FRAME.assign(item_id=["m50", "m7", "m7", "", "m3", "m8", "m50", "m8"]), r"row 3: empty item_id"),
    (FRAME.assign(timestamp=[1, 2, 3, "soon", 5, 6, 7, 8]), r"row 3: timestamp 'soon' is not a finite number"),
    (FRAME.assign(timestamp=[1, 2, 3, 4, float("inf"), 6, 7, 8]), r"row 4: timestamp inf is not a finite number"),
])
def test_bad_frames_name_the_row(frame, problem):
    with pytest.raises(DataFormatError, match=problem):
        from_dataframe(frame)


def test_bad_item_frames_and_short_users_name_the_row():
    with pytest.raises(DataFormatError, match=r"row 2: item 'm3' repeats row 0; expected one row per item"):
        from_dataframe(FRAME, items=pd.DataFrame({"item_id": ["m3", "m7", "m3"], "year": [1, 2, 3]}))
    with pytest.raises(DataFormatError, match=r"unknown attribute column 'genres'; available columns: genre, year"):
        from_dataframe(FRAME, items=ITEMS, attribute_fields=["genres"])
    with pytest.raises(DataFormatError, match=r"row 7: user 'u5' has 1 interactions"):
        from_dataframe(FRAME, drop_short_users=False)


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    pytest.importorskip("pyarrow")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"user_id,item_id\n1,2\n")
    with pytest.raises(DataFormatError, match=r"junk\.parquet: not a readable parquet file"):
        read_parquet(junk)
    with pytest.raises(DataFormatError, match=r"gone\.parquet: no such file"):
        read_parquet(tmp_path / "gone.parquet")
    truncated = tmp_path / "cut.parquet"
    FRAME.to_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-40])
    with pytest.raises(DataFormatError, match=r"cut\.parquet: not a readable parquet file"):
        read_parquet(truncated)


def test_without_pandas_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(MissingExtra, match=r"reading a DataFrame needs pandas: pip install 'ssrec\[pandas\]'"):
        from_dataframe(FRAME)


def test_ml100k_from_a_dataframe_equals_the_recbole_reader(shared_data):
    folder = shared_data / "ml-100k"
    reference = read_recbole(folder / "ml-100k.inter", folder / "ml-100k.item",
                             attribute_fields=["class", "release_year"])
    inter = pd.read_csv(folder / "ml-100k.inter", sep="\t", dtype=str)
    inter.columns = [c.split(":")[0] for c in inter.columns]
    inter["timestamp"] = inter["timestamp"].astype(float)
    items = pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str, keep_default_na=False)
    items.columns = [c.split(":")[0] for c in items.columns]
    items["class"] = items["class"].str.split()
    data = from_dataframe(inter, items=items, attribute_fields=["class", "release_year"])
    assert data.num_items == 1682 and len(data.users) == 943
    assert same_dataset(data, reference)
