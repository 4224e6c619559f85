"""The in-memory form of a sequential-recommendation data set.

Every reader (S3-Rec text, RecBole atomic files, in-memory arrays) produces a ``SequenceDataset``.
Ids follow S3-Rec: PAD = 0, items 1..N, MASK = N + 1 (so item tables have N + 2 rows); attribute ids
start at 1 and attribute tables have ``num_attributes`` rows with row 0 unused.
Sequences are stored as one concatenated array plus offsets (CSR), so every later step can be
vectorized instead of looping over Python lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ssrec.data.errors import DataFormatError

PAD = 0
MIN_INTERACTIONS = 3  # leave-one-out needs at least one training, one validation and one test item


@dataclass(frozen=True)
class ItemAttributes:
    """Attributes of every item, as CSR rows indexed by item id 0..N+1 (PAD and MASK rows are empty).

    Attributes:
        offsets: int64 array of shape (N + 3,); the attributes of item i are ``values[offsets[i]:offsets[i+1]]``.
        values: int64 array of attribute ids, each in 1..num_attributes-1, sorted and distinct per item.
        num_attributes: rows of an attribute table (max attribute id + 1; row 0 unused).
        names: optional display name of every attribute id (index 0 is "[PAD]").
    """

    offsets: np.ndarray
    values: np.ndarray
    num_attributes: int
    names: tuple[str, ...] | None = None

    def __eq__(self, other: object) -> bool:
        # The generated dataclass __eq__ compares numpy arrays with ``==`` and raises; compare contents.
        if not isinstance(other, ItemAttributes):
            return NotImplemented
        return (self.num_attributes == other.num_attributes and self.names == other.names
                and np.array_equal(self.offsets, other.offsets) and np.array_equal(self.values, other.values))

    def __hash__(self) -> int:
        return hash((self.num_attributes, len(self.offsets), len(self.values)))

    def of(self, item: int) -> np.ndarray:
        """The attribute ids of one item."""
        return self.values[self.offsets[item] : self.offsets[item + 1]]

    @property
    def num_item_rows(self) -> int:
        """N + 2: the number of item ids the table covers (PAD and MASK included)."""
        return len(self.offsets) - 1

    @staticmethod
    def from_mapping(mapping: dict[int, list[int]] | dict[int, np.ndarray], num_items: int,
                     names: tuple[str, ...] | None = None,
                     num_attributes: int | None = None) -> ItemAttributes:
        """Build the CSR table from ``{item id: [attribute ids]}``; items absent from the mapping get none.

        Item ids must lie in 1..num_items and attribute ids be >= 1 (duplicates are merged); when
        ``num_attributes`` is given it must exceed every attribute id, otherwise it is max id + 1.

        Raises:
            DataFormatError: an item id outside 1..num_items, an attribute id < 1 or >= num_attributes,
                or ``names`` not of length num_attributes.
        """
        keys = np.fromiter((int(k) for k in mapping), dtype=np.int64, count=len(mapping))
        if len(keys) and (keys.min() < 1 or keys.max() > num_items):
            bad = int(keys[(keys < 1) | (keys > num_items)][0])
            raise DataFormatError(None, None, f"attributes name item {bad}, not in 1..{num_items}")
        rows = [np.asarray(attrs, dtype=np.int64).reshape(-1) for attrs in mapping.values()]
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if len(flat) and flat.min() < 1:
            raise DataFormatError(None, None, f"attribute id {int(flat.min())} < 1 (0 is PAD)")
        top = int(flat.max()) + 1 if len(flat) else 1
        if num_attributes is None:
            num_attributes = top
        elif top > num_attributes:
            raise DataFormatError(None, None, f"attribute id {top - 1} needs more than num_attributes="
                                  f"{num_attributes} rows")
        # Sort by (item, attribute) and drop repeats, all at once: no per-item numpy call.
        owner = np.repeat(keys, lengths)
        pair = np.unique(owner * num_attributes + flat)
        owner, values = pair // num_attributes, pair % num_attributes
        offsets = np.zeros(num_items + 3, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=num_items + 2), out=offsets[1:])
        if names is not None and len(names) != num_attributes:
            raise DataFormatError(None, None, f"{len(names)} attribute names for {num_attributes} attribute ids")
        return ItemAttributes(offsets, values.astype(np.int64), num_attributes, names)


@dataclass(frozen=True)
class SequenceDataset:
    """Users' item sequences in time order, with optional item attributes.

    Attributes:
        name: a short name for result files and logs (e.g. "Beauty").
        items: int64 array, all users' sequences concatenated, each id in 1..num_items.
        offsets: int64 array of shape (num_users + 1,); user u's sequence is ``items[offsets[u]:offsets[u+1]]``.
        num_items: N, the largest item id; MASK is N + 1.
        users: the original user id of every row, for result files and negative files.
        attributes: item attributes, or None when the data set has none.
        source: where the data came from (a path, or a description for in-memory data).
        item_ids: the data's own id of items 1..N (``item_ids[i - 1]`` is item i), for readers that remap
            tokens (RecBole files, DataFrames); None where the ids are the item numbers themselves (S3-Rec
            files, arrays). ``item_vocabulary`` gives the ids in either case.
    """

    name: str
    items: np.ndarray
    offsets: np.ndarray
    num_items: int
    users: tuple[str, ...]
    attributes: ItemAttributes | None = None
    source: str = "<in-memory>"
    item_ids: tuple[str, ...] | None = None
    _lengths: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.offsets.ndim != 1 or len(self.offsets) == 0 or self.offsets[0] != 0
                or self.offsets[-1] != len(self.items) or (np.diff(self.offsets) < 0).any()):
            raise DataFormatError(self.source, None, f"offsets must rise from 0 to {len(self.items)} (the number "
                                  f"of interactions)")
        if not np.issubdtype(self.items.dtype, np.integer):
            raise DataFormatError(self.source, None, f"item ids must be integers, not {self.items.dtype}")
        lengths = np.diff(self.offsets)
        object.__setattr__(self, "_lengths", lengths)
        if len(self.users) != len(lengths):
            raise DataFormatError(self.source, None, f"{len(self.users)} user ids for {len(lengths)} sequences")
        if len(self.items) and (self.items.min() < 1 or self.items.max() > self.num_items):
            raise DataFormatError(self.source, None, f"item ids must lie in 1..{self.num_items}")
        if self.item_ids is not None and len(self.item_ids) != self.num_items:
            raise DataFormatError(self.source, None, f"{len(self.item_ids)} item ids for {self.num_items} items")
        short = np.flatnonzero(lengths < MIN_INTERACTIONS)
        if len(short):
            raise DataFormatError(self.source, None, f"user {self.users[short[0]]!r} has {lengths[short[0]]} "
                                  f"interactions; leave-one-out needs at least {MIN_INTERACTIONS}")
        if self.attributes is not None and self.attributes.num_item_rows != self.num_items + 2:
            raise DataFormatError(self.source, None, f"attribute table covers {self.attributes.num_item_rows - 2} "
                                  f"items, the sequences {self.num_items}")
        if self.attributes is not None and len(self.attributes.values):
            a = self.attributes
            if a.values.min() < 1 or a.values.max() >= a.num_attributes:
                raise DataFormatError(self.source, None, f"attribute ids must lie in 1..{a.num_attributes - 1}")

    def __eq__(self, other: object) -> bool:
        # The generated dataclass __eq__ compares numpy arrays with ``==`` and raises; compare contents.
        if not isinstance(other, SequenceDataset):
            return NotImplemented
        return (self.name == other.name and self.num_items == other.num_items and self.users == other.users
                and self.source == other.source and self.attributes == other.attributes
                and self.item_ids == other.item_ids
                and np.array_equal(self.offsets, other.offsets) and np.array_equal(self.items, other.items))

    def __hash__(self) -> int:
        return hash((self.name, self.num_items, len(self.offsets), len(self.items)))

    @property
    def num_users(self) -> int:
        return len(self.offsets) - 1

    @property
    def num_interactions(self) -> int:
        return len(self.items)

    @property
    def mask_id(self) -> int:
        """The MASK item id, N + 1."""
        return self.num_items + 1

    @property
    def item_vocabulary(self) -> tuple[str, ...]:
        """The data's own id of every item 1..N (index i - 1 for item i): ``item_ids``, or the numbers "1".."N"."""
        return self.item_ids if self.item_ids is not None else tuple(str(i) for i in range(1, self.num_items + 1))

    @property
    def lengths(self) -> np.ndarray:
        """int64 array (num_users,): interactions per user."""
        return self._lengths

    def sequence(self, user: int) -> np.ndarray:
        """The item ids of one user (row index, not original id), in time order."""
        return self.items[self.offsets[user] : self.offsets[user + 1]]

    def describe(self) -> str:
        """One line of statistics, as papers report them."""
        text = (f"{self.name}: {self.num_users} users, {self.num_items} items, "
                f"{self.num_interactions} interactions")
        if self.attributes is not None:
            a = self.attributes
            text += (f", {a.num_attributes - 1} attributes "
                     f"({len(a.values) / max(1, int((np.diff(a.offsets) > 0).sum())):.2f} per item)")
        return text


def from_sequences(sequences: list[list[int]] | list[np.ndarray], *, num_items: int | None = None,
                   item_attributes: dict[int, list[int]] | None = None,
                   users: list[str] | None = None, name: str = "arrays") -> SequenceDataset:
    """Build a data set from in-memory sequences of item ids (1-based, time-ordered).

    Raises:
        DataFormatError: an id is not a positive integer, an attribute names an unknown item, or a user
            has fewer than 3 interactions (the message names the row).
    """
    arrays = []
    for row, seq in enumerate(sequences):
        arr = np.asarray(seq)
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise DataFormatError(None, None, f"sequence {row}: expected a 1-d sequence of integer item ids")
        if arr.size and arr.min() < 1:
            raise DataFormatError(None, None, f"sequence {row}: item id {int(arr.min())} < 1 (0 is PAD)")
        if arr.size < MIN_INTERACTIONS:
            raise DataFormatError(None, None, f"sequence {row} has {arr.size} items; leave-one-out needs at "
                                  f"least {MIN_INTERACTIONS}")
        arrays.append(arr.astype(np.int64))
    items = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
    top = int(items.max()) if len(items) else 0
    if num_items is None:
        num_items = top
    elif top > num_items:
        raise DataFormatError(None, None, f"item id {top} exceeds num_items={num_items}")
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    attributes = None
    if item_attributes is not None:
        for item, attrs in item_attributes.items():
            if not 1 <= int(item) <= num_items:
                raise DataFormatError(None, None, f"attributes name item {item}, not in 1..{num_items}")
            if any(int(a) < 1 for a in attrs):
                raise DataFormatError(None, None, f"item {item}: attribute ids must be >= 1 (0 is PAD)")
        attributes = ItemAttributes.from_mapping({int(k): list(v) for k, v in item_attributes.items()}, num_items)
    user_ids = tuple(users) if users is not None else tuple(str(u + 1) for u in range(len(arrays)))
    return SequenceDataset(name, items, offsets, num_items, user_ids, attributes)
