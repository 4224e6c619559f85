"""One entry point for data files: picks the reader from the file suffix."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ssrec.data.dataset import SequenceDataset
from ssrec.data.errors import DataFormatError
from ssrec.data.frame_format import read_parquet
from ssrec.data.recbole_format import read_recbole
from ssrec.data.s3rec_format import read_s3rec

log = logging.getLogger(__name__)


def load_dataset(data: str | Path, attributes: str | Path | None = None, *,
                 attribute_fields: list[str] | None = None,
                 drop_short_users: bool | None = None) -> SequenceDataset:
    """Load a data set, choosing the reader by suffix.

    Contract:
        * ``.txt``: S3-Rec format (:func:`read_s3rec`); ``attributes`` is the ``*_item2attributes.json``.
          When ``attributes`` is None and a sibling ``<stem>_item2attributes.json`` exists, it is used
          (logged at INFO), as the release does.
        * ``.inter``: RecBole atomic files (:func:`read_recbole`); ``attributes`` is the ``.item`` file.
          When ``attributes`` is None and a sibling ``<stem>.item`` exists, it is used (logged at INFO).
        * ``.parquet``: (user_id, item_id, timestamp) rows (:func:`read_parquet`, the ``pandas`` extra);
          ``attributes`` is a parquet file of item_id plus attribute columns.
        * ``drop_short_users=None`` keeps each reader's default (S3-Rec: refuse short users; RecBole:
          drop them with a warning).

    Raises:
        DataFormatError: ``data`` or ``attributes`` does not exist ("no such file"), an unknown suffix, or
            any error of the chosen reader.
        ValueError: ``attribute_fields`` with S3-Rec data, which has no named attribute fields.
    """
    path = Path(data)
    if not path.exists():
        raise DataFormatError(path, None, "no such file")
    if attributes is not None and not Path(attributes).exists():
        raise DataFormatError(attributes, None, "no such file")
    options: dict[str, Any] = {} if drop_short_users is None else {"drop_short_users": drop_short_users}
    suffix = path.suffix.lower()
    if suffix == ".txt":
        if attribute_fields is not None:
            raise ValueError("attribute_fields selects fields of a RecBole .item file; S3-Rec .txt data has none")
        if attributes is None:
            attributes = _sibling(path.with_name(f"{path.stem}_item2attributes.json"))
        return read_s3rec(path, attributes, **options)
    if suffix == ".inter":
        attributes = attributes if attributes is not None else _sibling(path.with_suffix(".item"))
        return read_recbole(path, attributes, attribute_fields=attribute_fields, **options)
    if suffix == ".parquet":
        return read_parquet(path, attributes, attribute_fields=attribute_fields, **options)
    kind = "a folder" if path.is_dir() else f"suffix {path.suffix or '(none)'!r}"
    raise DataFormatError(path, None, f"unknown data format ({kind}); expected .txt (S3-Rec), .inter (RecBole) "
                          "or .parquet")


def _sibling(candidate: Path) -> Path | None:
    """``candidate`` if it is a file (logged: the attributes picked up beside the data), else None."""
    if candidate.is_file():
        log.info("using item attributes from %s", candidate)
        return candidate
    return None
