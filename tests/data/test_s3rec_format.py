"""read_s3rec: the S3-Rec text format and its item-attributes JSON."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from ssrec.data import DataFormatError, read_s3rec


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_sequences_in_order_without_remapping(tmp_path):
    path = write(tmp_path, "Toy.txt", "u1 5 3 9\nu2 3 3 1 7\n")
    data = read_s3rec(path)
    assert data.name == "Toy" and data.source == str(path)
    assert data.users == ("u1", "u2")
    assert data.num_items == 9 and data.mask_id == 10
    assert data.offsets.tolist() == [0, 3, 7]
    assert data.items.tolist() == [5, 3, 9, 3, 3, 1, 7]
    assert data.attributes is None
    assert read_s3rec(path, name="other").name == "other"


def test_trailing_spaces_crlf_and_missing_final_newline_are_fine(tmp_path):
    path = write(tmp_path, "t.txt", "1 1 2 3 \r\n6 171 4 5  \n2 3\t4 5")
    data = read_s3rec(path)
    assert data.users == ("1", "6", "2")
    assert data.items.tolist() == [1, 2, 3, 171, 4, 5, 3, 4, 5]


@pytest.mark.parametrize("text, line, problem", [
    ("1 1 2 3\n2 4 abc 6\n", 2, r"item id 'abc' is not a positive integer"),
    ("1 1 2 3\n2 4 -5 6\n", 2, r"item id '-5' is not a positive integer"),
    ("1 1 2 3\n2 4 2.5 6\n", 2, r"item id '2.5' is not a positive integer"),
    ("1 1 2 3\n2 4 5 6\n3 7 0 8\n", 3, r"item id '0' is not a positive integer \(0 is PAD\)"),
    ("1 1 2 3\n2 4 5 6\n3 7 12345678901234567890 8\n", 3, r"item id '12345678901234567890' is too large"),
    ("1 1 2 3\n\n2 4 5 6\n", 2, r"empty line; expected 'user item1 item2 \.\.\.'"),
    ("1 1 2 3\n   \n2 4 5 6\n", 2, r"empty line"),
    ("1 1 2 3\n2 4 5 6\n\n", 3, r"empty line"),
    ("1 1 2 3\n7\n", 2, r"user '7' has no items; expected 'user item1 item2 \.\.\.'"),
    ("1 1 2 3\n7 \n", 2, r"user '7' has no items"),
    ("1 1 2 3\n2 4 5 6\n1 7 8 9\n", 3, r"user id '1' repeats line 1; expected one line per user"),
    ("1 1 2 3\n2 4 5 6\n3 7 8\n", 3, r"user '3' has 2 interactions; leave-one-out needs at least 3"),
])
def test_bad_lines_name_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path, "Bad.txt", text)
    with pytest.raises(DataFormatError, match=rf"Bad\.txt:{line}: {problem}") as info:
        read_s3rec(path)
    assert info.value.line == line and info.value.path == str(path)


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"Empty\.txt: the file is empty"):
        read_s3rec(write(tmp_path, "Empty.txt", ""))


def test_drop_short_users_logs_one_warning(tmp_path, caplog):
    path = write(tmp_path, "s.txt", "a 1 2 3\nb 4 5\nc 6 7 8 9\nd 2\ne 3 4 5\n")
    with caplog.at_level(logging.WARNING, logger="ssrec.data"):
        data = read_s3rec(path, drop_short_users=True)
    assert data.users == ("a", "c", "e")
    assert data.items.tolist() == [1, 2, 3, 6, 7, 8, 9, 3, 4, 5]
    assert data.offsets.tolist() == [0, 3, 7, 10]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "dropped 2 users" in warnings[0].getMessage() and "b, d" in warnings[0].getMessage()


def test_attributes_are_read_as_sorted_distinct_sets(tmp_path):
    path = write(tmp_path, "a.txt", "1 1 2 3\n2 3 4 1\n")
    attrs = write(tmp_path, "a_item2attributes.json", '{"1": [3, 1, 3], "3": [2], "4": []}')
    data = read_s3rec(path, attrs)
    table = data.attributes
    assert table.num_attributes == 4
    assert [table.of(i).tolist() for i in range(6)] == [[], [1, 3], [], [2], [], []]


JSON_ERRORS = [
    ('{\n "1": [1],\n "2": [2,\n}', 4, r"invalid JSON: .*"),
    ('[1, 2]', 1, r"expected a JSON object"),
    ('{\n "1": [1],\n "9": [2]\n}', 3, r"item 9 is not in the sequences \(item ids are 1\.\.4\)"),
    ('{\n "0": [1]\n}', 2, r"item id '0' is not a positive integer"),
    ('{\n "1": [1],\n "x1": [2]\n}', 3, r"item id 'x1' is not a positive integer"),
    ('{\n "1": [1],\n\n "2": 5\n}', 4, r"item '2': expected a list of positive integer attribute ids, found 5"),
    ('{\n "1": [1, 0]\n}', 2, r"item '1': expected a list of positive integer attribute ids"),
    ('{\n "1": [1, 2.0]\n}', 2, r"item '1': expected a list of positive integer attribute ids, found \[1, 2\.0\]"),
    ('{\n "1": [true]\n}', 2, r"item '1': expected a list of positive integer attribute ids, found \[true\]"),
    ('{\n "1": [1],\n "2": [1],\n "1": [2]\n}', 4, r"item '1' appears twice"),
]


@pytest.mark.parametrize("text, line, problem", JSON_ERRORS)
def test_bad_attribute_files_name_file_line_and_problem(tmp_path, text, line, problem):
    path = write(tmp_path, "a.txt", "1 1 2 3\n2 3 4 1\n")
    attrs = write(tmp_path, "A_item2attributes.json", text)
    with pytest.raises(DataFormatError, match=rf"A_item2attributes\.json:{line}: {problem}"):
        read_s3rec(path, attrs)


@pytest.mark.parametrize("name, users, items, interactions, attributes", [
    ("beauty/Beauty", 22363, 12101, 198502, 637),
    ("lastfm/LastFM", 1090, 3646, 52551, 388),
])
def test_released_data_sets(shared_data, name, users, items, interactions, attributes):
    data = read_s3rec(shared_data / f"{name}.txt", shared_data / f"{name}_item2attributes.json")
    assert (data.num_users, data.num_items, data.num_interactions) == (users, items, interactions)
    assert data.attributes.num_attributes == attributes + 1
    assert data.name == name.split("/")[1]
    # spot-check against the raw text: first and last line
    lines = (shared_data / f"{name}.txt").read_text().split("\n")
    first, last = lines[0].split(), [ln for ln in lines if ln.strip()][-1].split()
    assert data.users[0] == first[0] and data.sequence(0).tolist() == [int(t) for t in first[1:]]
    assert data.users[-1] == last[0] and data.sequence(users - 1).tolist() == [int(t) for t in last[1:]]
    assert np.all(np.diff(data.attributes.offsets) >= 0)
