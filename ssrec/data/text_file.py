"""Reading a data file as text, with the errors every reader reports the same way."""
from __future__ import annotations

from pathlib import Path

from ssrec.data.errors import DataFormatError


def read_text(path: Path) -> str:
    """The file's UTF-8 text; a missing file, a folder or undecodable bytes raise ``DataFormatError``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFormatError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataFormatError(path, None, "is a folder; expected a data file") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataFormatError(path, line, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from None


def text_lines(text: str) -> list[str]:
    """Lines of ``text`` without their newline; a final newline does not make an extra empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
