"""load_dataset: dispatch on the file suffix."""
from __future__ import annotations

import logging

import pytest

from ssrec.data import DataFormatError, load_dataset

S3REC = "a 1 2 3\nb 2 3 4\nc 5 6\n"
INTER = ("user_id:token\titem_id:token\ttimestamp:float\n"
         + "".join(f"u{u}\ti{k}\t{k}\n" for u in range(2) for k in range(3)) + "short\ti9\t1\n")
ITEM = "item_id:token\tgenre:token\ni0\tpop\ni1\trock\ni2\tpop\n"


def test_txt_goes_to_the_s3rec_reader(tmp_path):
    (tmp_path / "Toy.txt").write_text(S3REC)
    (tmp_path / "Toy_item2attributes.json").write_text('{"1": [1], "4": [2]}')
    with pytest.raises(DataFormatError, match=r"Toy\.txt:3: user 'c' has 2 interactions"):
        load_dataset(tmp_path / "Toy.txt")  # S3-Rec default: refuse short users
    data = load_dataset(str(tmp_path / "Toy.txt"), tmp_path / "Toy_item2attributes.json", drop_short_users=True)
    assert data.name == "Toy" and data.users == ("a", "b") and data.attributes.num_attributes == 3


def test_inter_goes_to_the_recbole_reader_with_its_sibling_item_file(tmp_path, caplog):
    (tmp_path / "toy.inter").write_text(INTER)
    data = load_dataset(tmp_path / "toy.inter")  # RecBole default: drop short users; no .item yet
    assert data.users == ("u0", "u1") and data.attributes is None
    (tmp_path / "toy.item").write_text(ITEM)
    with caplog.at_level(logging.INFO, logger="ssrec.data"):
        data = load_dataset(tmp_path / "toy.inter")
    assert data.attributes.names == ("[PAD]", "genre=pop", "genre=rock")
    assert "toy.item" in caplog.text
    with pytest.raises(DataFormatError, match=r"toy\.inter:8: user 'short' has 1 interactions"):
        load_dataset(tmp_path / "toy.inter", drop_short_users=False)
    with pytest.raises(DataFormatError, match=r"toy\.item:1: unknown attribute field 'year'"):
        load_dataset(tmp_path / "toy.inter", attribute_fields=["year"])


def test_explicit_attributes_win_over_the_sibling(tmp_path):
    (tmp_path / "toy.inter").write_text(INTER)
    (tmp_path / "toy.item").write_text(ITEM)
    (tmp_path / "other.item").write_text("item_id:token\tmood:token\ni1\tsad\n")
    data = load_dataset(tmp_path / "toy.inter", tmp_path / "other.item")
    assert data.attributes.names == ("[PAD]", "mood=sad")


@pytest.mark.parametrize("name, problem", [
    ("data.csv",
     r"data\.csv: unknown data format \(suffix '\.csv'\); expected \.txt \(S3-Rec\), \.inter \(RecBole\) or \.parquet"),
    ("data", r"data: unknown data format \(suffix '\(none\)'\)"),
])
def test_unknown_suffix(tmp_path, name, problem):
    (tmp_path / name).write_text(S3REC)
    with pytest.raises(DataFormatError, match=problem):
        load_dataset(tmp_path / name)


def test_a_folder_is_not_a_data_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"unknown data format \(a folder\)"):
        load_dataset(tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataFormatError, match=r"Gone\.txt: no such file"):
        load_dataset(tmp_path / "Gone.txt")
    (tmp_path / "Toy.txt").write_text(S3REC)
    with pytest.raises(DataFormatError, match=r"gone\.json: no such file"):
        load_dataset(tmp_path / "Toy.txt", tmp_path / "gone.json")


def test_attribute_fields_do_not_apply_to_s3rec(tmp_path):
    (tmp_path / "Toy.txt").write_text(S3REC)
    with pytest.raises(ValueError, match=r"RecBole"):
        load_dataset(tmp_path / "Toy.txt", attribute_fields=["genre"])


def test_shared_data_sets_load(shared_data):
    beauty = load_dataset(shared_data / "beauty" / "Beauty.txt", shared_data / "beauty" / "Beauty_item2attributes.json")
    assert beauty.describe() == ("Beauty: 22363 users, 12101 items, 198502 interactions, 637 attributes "
                                 "(3.72 per item)")
    movies = load_dataset(shared_data / "ml-100k" / "ml-100k.inter", attribute_fields=["class", "release_year"])
    assert movies.num_users == 943 and movies.attributes is not None


def test_s3rec_attributes_beside_the_data_are_picked_up(tmp_path, caplog):
    import json
    import logging

    from ssrec.data import load_dataset

    (tmp_path / "Shop.txt").write_text("1 1 2 3\n2 2 3 4\n")
    assert load_dataset(tmp_path / "Shop.txt").attributes is None
    (tmp_path / "Shop_item2attributes.json").write_text(json.dumps({"1": [2], "4": [1, 3]}))
    with caplog.at_level(logging.INFO):
        data = load_dataset(tmp_path / "Shop.txt")
    assert data.attributes.of(4).tolist() == [1, 3] and "Shop_item2attributes.json" in caplog.text
