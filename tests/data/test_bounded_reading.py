"""Reading stays bounded: a binary or line-less file of any size is refused after a bounded read, and an error
quotes at most a short excerpt of a bad token."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ssrec.data import DataFormatError, load_dataset
from ssrec.data.text_file import MAX_LINE_BYTES

PEAK_RSS = """
import re, sys
from pathlib import Path
from ssrec.data import DataFormatError, load_dataset
try:
    load_dataset(sys.argv[1])
except DataFormatError as exc:
    print(str(exc))
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))  # this process's peak
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak memory from /proc/self/status")
def test_a_sparse_2gb_file_is_refused_within_a_memory_bound(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(2 << 30)  # 2 GiB of NUL bytes, sparse: no disk used
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS, str(big)], capture_output=True, text=True, timeout=120)
    message, peak_kib = proc.stdout.splitlines()
    assert message == f"{big}:1: binary data (a NUL byte); expected a text file"
    assert int(peak_kib) < 300 * 1024, f"peak memory {int(peak_kib) >> 10} MiB reading a 2 GiB file"


def test_a_nul_byte_is_named_at_its_line(tmp_path):
    bad = tmp_path / "Bad.txt"
    bad.write_bytes(b"1 1 2 3\n2 4 5 6\n3 7\x008 9\n")
    with pytest.raises(DataFormatError, match=r"Bad.txt:3: binary data \(a NUL byte\)"):
        load_dataset(bad)


def test_a_line_without_end_is_refused_after_a_bounded_read(tmp_path):
    long = tmp_path / "Long.txt"
    long.write_bytes(b"1 " + b"9" * (MAX_LINE_BYTES + 10))
    with pytest.raises(DataFormatError, match=r"Long.txt:1: a line longer than 16 MiB"):
        load_dataset(long)


def test_an_error_quotes_a_short_excerpt_of_a_huge_token(tmp_path):
    bad = tmp_path / "Huge.inter"
    bad.write_text("user_id:token\titem_id:token\ttimestamp:float\n" + "u1\ti1\t" + "x" * 1_000_000 + "\n")
    with pytest.raises(DataFormatError) as info:
        load_dataset(bad)
    assert len(str(info.value)) < 600 and "characters ..." in str(info.value), str(info.value)[:200]
    assert json.dumps(str(info.value))  # one printable line
