"""Integer ids that index embedding rows must be (nearly) contiguous from 1.

S3-Rec files use item and attribute ids as rows of the embedding and output tables without remapping,
so the table size is the largest id. A file whose largest id dwarfs the number of distinct ids (a typo,
a foreign id scheme, a hostile file) would allocate gigabytes or fail deep inside torch; it is refused
here, at the line of that id, instead.
"""
from __future__ import annotations

from pathlib import Path

from ssrec.data.errors import DataFormatError

#: the largest id may be at most SPARSITY * (distinct ids) + SLACK
SPARSITY = 2
SLACK = 1000


def check_dense_ids(path: str | Path, what: str, largest: int, distinct: int, line: int | None) -> None:
    """Raise ``DataFormatError`` at ``line`` when ``largest`` is far beyond ``distinct`` ids of kind ``what``."""
    limit = SPARSITY * distinct + SLACK
    if largest > limit:
        raise DataFormatError(path, line, f"{what} id {largest} is far beyond the {distinct} distinct {what} ids "
                              f"of the file: ids are table rows, so they must run (nearly) contiguously from 1 "
                              f"(at most {limit} here); remap the ids, or use RecBole atomic files, whose tokens "
                              f"ssrec remaps")
