"""Files that are not text, or not files, get a clean error naming them."""
from __future__ import annotations

import pytest

from ssrec.data import DataFormatError, load_dataset


def test_binary_junk_names_file_and_line(tmp_path):
    junk = tmp_path / "Junk.txt"
    junk.write_bytes(b"1 1 2 3\n2 4 5\xff\xfe 6\n")
    with pytest.raises(DataFormatError, match=r"Junk.txt:2: not UTF-8 text \(byte 0xff\)"):
        load_dataset(junk)


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "Folder.txt"
    folder.mkdir()
    with pytest.raises(DataFormatError, match="Folder.txt"):
        load_dataset(folder)
