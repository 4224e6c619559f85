"""read_recbole: RecBole atomic .inter / .item files."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from ssrec.data import DataFormatError, read_recbole

HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def inter_file(tmp_path, rows, header=HEADER, name="toy.inter"):
    path = tmp_path / name
    path.write_text(header + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def item_file(tmp_path, text, name="toy.item"):
    path = tmp_path / name
    path.write_text(text)
    return path


# user u9 appears first; its rows are out of time order and two share a timestamp
ROWS = [
    ("u9", "m50", 3, 30), ("u2", "m7", 4, 5), ("u9", "m7", 5, 10), ("u9", "m3", 1, 20),
    ("u2", "m3", 2, 1), ("u9", "m8", 2, 20), ("u2", "m50", 4, 9),
]


def test_sorts_by_time_stably_and_maps_tokens_by_first_appearance(tmp_path):
    data = read_recbole(inter_file(tmp_path, ROWS))
    assert data.name == "toy" and data.users == ("u9", "u2")
    # item ids by first appearance in the file: m50=1, m7=2, m3=3, m8=4
    assert data.num_items == 4
    assert data.sequence(0).tolist() == [2, 3, 4, 1]  # m7@10, m3@20, m8@20 (file order), m50@30
    assert data.sequence(1).tolist() == [3, 2, 1]  # m3@1, m7@5, m50@9
    assert data.attributes is None


def test_fields_are_found_by_name_in_any_column_order(tmp_path):
    header = "timestamp:float\tsession:token\titem_id:token\tuser_id:token\n"
    rows = [(t, "s", f"i{t % 2}", "u") for t in (3, 1, 2)]
    data = read_recbole(inter_file(tmp_path, rows, header))
    # i1 is first in the file (id 1), i0 second (id 2); in time order: i1@1, i0@2, i1@3
    assert data.users == ("u",) and data.sequence(0).tolist() == [1, 2, 1]


@pytest.mark.parametrize("header, problem", [
    ("user_id:token\titem_id:token\trating:float\n",
     r"missing field 'timestamp'; columns present: user_id:token, item_id:token, rating:float"),
    ("user:token\titem_id:token\ttimestamp:float\n", r"missing field 'user_id'; columns present: user:token"),
    ("user_id:token\titem:token\ttimestamp:float\n", r"missing field 'item_id'"),
    ("user_id:token\titem_id\ttimestamp:float\n", r"column 'item_id' is not 'field:type'"),
    ("user_id:token\titem_id:int\ttimestamp:float\n", r"column 'item_id:int' is not 'field:type'"),
    ("user_id:token\titem_id:token\tuser_id:token\ttimestamp:float\n", r"field 'user_id' appears twice"),
    ("\n", r"empty header"),
])
def test_bad_headers_name_line_1(tmp_path, header, problem):
    path = tmp_path / "h.inter"
    path.write_text(header + "1\t2\t3\n")
    with pytest.raises(DataFormatError, match=rf"h\.inter:1: {problem}"):
        read_recbole(path)


@pytest.mark.parametrize("bad_row, problem", [
    ("u1\tm1\t5\n", r"found 3 tab-separated columns; expected 4 \(user_id, item_id, rating, timestamp\)"),
    ("u1\tm1\t5\t7\t8\n", r"found 5 tab-separated columns"),
    ("\n", r"empty line; expected 4"),
    ("u1\tm1\t5\tyesterday\n", r"timestamp 'yesterday' is not a finite number"),
    ("u1\tm1\t5\tnan\n", r"timestamp 'nan' is not a finite number"),
    ("\tm1\t5\t7\n", r"empty user_id"),
    ("u1\t\t5\t7\n", r"empty item_id"),
])
def test_bad_rows_name_file_and_line(tmp_path, bad_row, problem):
    good = "".join(f"u{u}\tm{u}{k}\t1\t{k}\n" for u in (1, 2) for k in range(3))
    path = tmp_path / "r.inter"
    path.write_text(HEADER + good + bad_row + "u3\tm1\t1\t1\n")
    with pytest.raises(DataFormatError, match=rf"r\.inter:8: {problem}"):
        read_recbole(path, drop_short_users=False)


def test_short_users_are_dropped_with_one_warning_by_default(tmp_path, caplog):
    rows = ROWS + [("lonely", "m99", 1, 1), ("pair", "m98", 1, 1), ("pair", "m7", 1, 2)]
    with caplog.at_level(logging.WARNING, logger="ssrec.data"):
        data = read_recbole(inter_file(tmp_path, rows))
    assert data.users == ("u9", "u2") and data.num_items == 4  # m99, m98 only occurred for dropped users
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "dropped 2 users" in warnings[0] and "lonely, pair" in warnings[0]


def test_item_ids_follow_first_appearance_among_kept_interactions(tmp_path):
    rows = [("pair", "m8", 1, 1), ("pair", "m3", 1, 2)] + ROWS  # dropped user sees m8, m3 first
    data = read_recbole(inter_file(tmp_path, rows))
    assert data.users == ("u9", "u2")
    assert data.sequence(0).tolist() == [2, 3, 4, 1] and data.sequence(1).tolist() == [3, 2, 1]


def test_short_users_are_an_error_without_dropping(tmp_path):
    rows = ROWS[:4] + [("pair", "m98", 1, 1)] + ROWS[4:] + [("pair", "m7", 1, 2)]
    with pytest.raises(DataFormatError, match=r"toy\.inter:6: user 'pair' has 2 interactions; leave-one-out"):
        read_recbole(inter_file(tmp_path, rows), drop_short_users=False)


def test_no_user_left_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"toy\.inter: no user has at least 3 interactions"):
        read_recbole(inter_file(tmp_path, [("a", "m1", 1, 1)]))


ITEMS = ("item_id:token\ttitle:token_seq\tyear:token\tprice:float\tgenre:token_seq\n"
         "m3\tThe Film\t1999\t9.5\tDrama Comedy\n"
         "m404\tNever Rated\t2001\t1.0\tHorror\n"
         "m7\tFilm Two\t1999\t3.0\tComedy\n"
         "m50\t\t\t2.0\t\n")


def test_item_attributes_default_fields_and_names(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG, logger="ssrec.data"):
        data = read_recbole(inter_file(tmp_path, ROWS), item_file(tmp_path, ITEMS))
    table = data.attributes
    # field by field (title, year, genre), tokens in order of first appearance among the used items
    assert table.names == ("[PAD]", "title=The", "title=Film", "title=Two", "year=1999",
                           "genre=Drama", "genre=Comedy")
    assert table.num_attributes == 7
    names = lambda item: [table.names[a] for a in table.of(item)]  # noqa: E731
    assert names(3) == ["title=The", "title=Film", "year=1999", "genre=Drama", "genre=Comedy"]  # m3
    assert names(2) == ["title=Film", "title=Two", "year=1999", "genre=Comedy"]  # m7
    assert names(1) == []  # m50: empty values
    assert names(4) == []  # m8: not in the .item file
    assert "ignored 1 items" in caplog.text  # m404


def test_attribute_fields_pick_fields_in_order(tmp_path):
    data = read_recbole(inter_file(tmp_path, ROWS), item_file(tmp_path, ITEMS),
                        attribute_fields=["genre", "year"])
    assert data.attributes.names == ("[PAD]", "genre=Drama", "genre=Comedy", "year=1999")
    assert data.attributes.of(3).tolist() == [1, 2, 3]


@pytest.mark.parametrize("fields, problem", [
    (["genre", "colour"], r"unknown attribute field 'colour'; available fields: title:token_seq, year:token, "
                          r"price:float, genre:token_seq"),
    (["item_id"], r"unknown attribute field 'item_id'"),
    (["price"], r"attribute field 'price' is float; expected token or token_seq"),
])
def test_bad_attribute_fields_name_the_item_file(tmp_path, fields, problem):
    with pytest.raises(DataFormatError, match=rf"toy\.item:1: {problem}"):
        read_recbole(inter_file(tmp_path, ROWS), item_file(tmp_path, ITEMS), attribute_fields=fields)


@pytest.mark.parametrize("text, line, problem", [
    ("title:token_seq\n", 1, r"missing field 'item_id'; columns present: title:token_seq"),
    ("item_id:token\tyear:token\nm3\t1999\nm7\n", 3, r"found 1 tab-separated columns; expected 2"),
    ("item_id:token\tyear:token\nm3\t1999\nm7\t1\nm3\t2000\n", 4, r"item 'm3' repeats line 2"),
])
def test_bad_item_files(tmp_path, text, line, problem):
    with pytest.raises(DataFormatError, match=rf"toy\.item:{line}: {problem}"):
        read_recbole(inter_file(tmp_path, ROWS), item_file(tmp_path, text))


def test_ml_100k(shared_data):
    folder = shared_data / "ml-100k"
    data = read_recbole(folder / "ml-100k.inter", folder / "ml-100k.item",
                        attribute_fields=["class", "release_year"])
    assert (data.num_users, data.num_items, data.num_interactions) == (943, 1682, 100000)
    assert data.name == "ml-100k"
    assert (np.diff(data.attributes.offsets)[1:-1] > 0).all()  # every item 1..N has attributes
    names = data.attributes.names
    assert all(n.startswith(("class=", "release_year=")) for n in names[1:])
    assert len(set(names)) == len(names)
    # independent check of one user's sequence: sorted by timestamp, ties in file order
    lines = (folder / "ml-100k.inter").read_text().split("\n")[1:]
    rows = [ln.split("\t") for ln in lines if ln]
    user = data.users[5]
    mine = sorted(((float(r[3]), k, r[1]) for k, r in enumerate(rows) if r[0] == user))
    first_seen = {}
    for r in rows:
        first_seen.setdefault(r[1], len(first_seen) + 1)
    assert data.sequence(5).tolist() == [first_seen[t] for _, _, t in mine]
    toy_story = first_seen["1"]
    assert [names[a] for a in data.attributes.of(toy_story)] == [
        "class=Animation", "class=Children's", "class=Comedy", "release_year=1995"]
