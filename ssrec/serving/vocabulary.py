"""The data's own ids of a model's items (and users), as a checkpoint carries them.

ssrec numbers items 1..N (PAD = 0, MASK = N + 1) and users by row. Readers that remap tokens (RecBole files,
DataFrames) keep the tokens (``SequenceDataset.item_ids``); S3-Rec files use the numbers themselves. A
``Vocabulary`` is that list, written into every checkpoint (``"vocabulary"``, covered by its digest), so a
checkpoint alone turns scores back into the data's ids, and refuses data whose ids it does not know.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ssrec.data.dataset import SequenceDataset
from ssrec.data.frame_format import id_token

log = logging.getLogger(__name__)
OnUnknown = Literal["error", "skip"]


class UnknownIdError(ValueError):
    """An item or user id the model was not trained on; the message names it and where it occurred."""


@dataclass(frozen=True)
class Vocabulary:
    """``items[i - 1]`` is the data's id of item i (1..N); ``users[r]`` that of user row r, kept only for
    backbones with a user embedding (None otherwise)."""

    items: tuple[str, ...]
    users: tuple[str, ...] | None = None
    _item_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {token: i for i, token in enumerate(self.items, start=1)}
        if len(index) != len(self.items):
            raise ValueError("the vocabulary names an item id twice")
        object.__setattr__(self, "_item_index", index)

    @property
    def num_items(self) -> int:
        return len(self.items)

    @classmethod
    def of(cls, dataset: SequenceDataset, with_users: bool = False) -> Vocabulary:
        """The vocabulary of ``dataset`` (its user ids too when ``with_users``)."""
        return cls(dataset.item_vocabulary, dataset.users if with_users else None)

    def to_record(self) -> dict[str, Any]:
        return {"items": list(self.items), "users": list(self.users) if self.users is not None else None}

    @classmethod
    def from_record(cls, record: Any, where: str) -> Vocabulary:
        if not isinstance(record, dict) or not isinstance(record.get("items"), list):
            raise ValueError(f"{where}: the vocabulary must be a table with a list of item ids, got {record!r:.80}")
        users = record.get("users")
        return cls(tuple(str(t) for t in record["items"]), tuple(str(u) for u in users) if users is not None else None)

    def item_numbers(self, ids: Iterable[Any], *, on_unknown: OnUnknown = "error", where: str = "") -> np.ndarray:
        """The item numbers (int64, 1..N) of ``ids`` (the data's own ids, any type whose ``str`` is the id).

        An unknown id raises ``UnknownIdError`` naming it and its position, or with ``on_unknown="skip"``
        maps to 0 (the caller drops zeros).
        """
        out = []
        for position, token in enumerate(ids):
            number = self._item_index.get(id_token(token), 0)
            if not number and on_unknown == "error":
                raise UnknownIdError(f"{where}item id {token!r} (position {position + 1}) is not among the "
                                     f"{self.num_items} items the model was trained on")
            out.append(number)
        return np.asarray(out, dtype=np.int64)

    def ids_of(self, numbers: np.ndarray) -> np.ndarray:
        """The data's ids (object array of str) of item numbers 1..N, same shape."""
        table = np.asarray(("",) + self.items, dtype=object)
        return table[numbers]

    def translation_from(self, dataset: SequenceDataset, source: str) -> tuple[np.ndarray, int]:
        """A lookup (N_data + 1,) from ``dataset``'s item numbers to this vocabulary's (0: unknown), and how many
        of the data's items are unknown.

        Raises:
            UnknownIdError: most of the data's items are unknown (a model of other data), naming both counts
                and the first unknown ids.
        """
        data_ids = dataset.item_vocabulary
        lookup = np.zeros(len(data_ids) + 1, dtype=np.int64)
        lookup[1:] = [self._item_index.get(t, 0) for t in data_ids]
        unknown = np.flatnonzero(lookup[1:] == 0)
        if len(unknown) * 2 > len(data_ids):
            first = ", ".join(repr(data_ids[i]) for i in unknown[:3])
            raise UnknownIdError(f"{source} has {len(data_ids)} items, the model {self.num_items}; {len(unknown)} "
                                 f"of the data's item ids are unknown to the model (first: {first}): a model of "
                                 "other data?")
        return lookup, len(unknown)

