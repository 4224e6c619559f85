"""Reading a data file as text, with the errors every reader reports the same way."""
from __future__ import annotations

from pathlib import Path

from ssrec.data.errors import DataFormatError

CHUNK = 1 << 20
#: no line of a data file comes near this (a user with 100,000 items is under 1 MiB)
MAX_LINE_BYTES = 16 << 20


def read_text(path: Path) -> str:
    """The file's UTF-8 text; a missing file, a folder, binary data (a NUL byte), a line longer than
    ``MAX_LINE_BYTES`` or undecodable bytes raise ``DataFormatError`` naming the line.

    The file is checked chunk by chunk as it is read, so a binary or line-less file of any size is refused
    after reading at most ``MAX_LINE_BYTES`` of it.
    """
    chunks: list[bytes] = []
    line, line_bytes = 1, 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                nul = chunk.find(b"\0")
                if nul >= 0:
                    raise DataFormatError(path, line + chunk.count(b"\n", 0, nul),
                                          "binary data (a NUL byte); expected a text file")
                newlines = chunk.count(b"\n")
                if newlines and line_bytes + chunk.find(b"\n") > MAX_LINE_BYTES:  # the line this chunk ends
                    newlines = 0
                    line_bytes += chunk.find(b"\n")
                else:
                    line_bytes = line_bytes + len(chunk) if not newlines else len(chunk) - chunk.rfind(b"\n") - 1
                if line_bytes > MAX_LINE_BYTES:
                    raise DataFormatError(path, line + newlines, f"a line longer than {MAX_LINE_BYTES >> 20} MiB; "
                                                                 "expected one user or interaction per line")
                line += newlines
                chunks.append(chunk)
    except FileNotFoundError:
        raise DataFormatError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataFormatError(path, None, "is a folder; expected a data file") from None
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFormatError(path, line, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from None


def text_lines(text: str) -> list[str]:
    """Lines of ``text`` without their newline; a final newline does not make an extra empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
