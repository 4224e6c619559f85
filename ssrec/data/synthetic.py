"""An embedded data set with real sequential and attribute structure, for demos, smoke tests and CI.

Items fall into categories (contiguous blocks of ids). Each item's attributes are its category plus one or
two "style" attributes shared with its neighbouring ids. Every item has 3-5 likely successors, mostly
nearby items of its own category, and users walk this transition graph inside their 1-3 favourite
categories, with some noise (a jump within the favourites, or a popularity-biased jump anywhere). So the
next item is far more predictable from the previous one than from popularity alone, and attributes carry
signal (successors share category and often style).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ssrec.data.dataset import MIN_INTERACTIONS, SequenceDataset, from_sequences

FOLLOW, FAVOURITE = 0.75, 0.15  # step probabilities: follow a transition, jump in favourites; else noise
SAME_CATEGORY = 0.85  # probability that a successor lies in the item's own category
STYLE_WINDOW, STYLE2_WINDOW = 5, 8


def make_synthetic(*, num_users: int = 800, num_items: int = 300, num_categories: int = 12, min_len: int = 8,
                   max_len: int = 40, seed: int = 0) -> SequenceDataset:
    """A deterministic synthetic data set named "synthetic" (same arguments, same data set).

    Contract: ``num_users`` users with ``min_len``..``max_len`` distinct items each (no repeats within a
    user), item ids 1..num_items (N = num_items), attribute ids 1..A with 1..num_categories the categories.

    Raises:
        ValueError: sizes that cannot make such a data set (e.g. max_len > num_items, min_len < 3).
    """
    if not 1 <= num_categories <= num_items:
        raise ValueError(f"need 1 <= num_categories <= num_items, got {num_categories} and {num_items}")
    if not MIN_INTERACTIONS <= min_len <= max_len <= num_items:
        raise ValueError(f"need {MIN_INTERACTIONS} <= min_len <= max_len <= num_items, got {min_len}, {max_len}, "
                         f"{num_items}")
    if num_users < 1:
        raise ValueError(f"num_users must be positive, got {num_users}")
    rng = np.random.default_rng(seed)
    category = np.arange(num_items) * num_categories // num_items  # of item index 0..N-1 (id = index + 1)
    members = [np.flatnonzero(category == c) for c in range(num_categories)]
    attributes = _attributes(rng, category, num_categories)
    succ, succ_p = _transitions(rng, category, members)
    popularity = np.cumsum(rng.permutation(1.0 / np.arange(1, num_items + 1) ** 0.8))
    popularity /= popularity[-1]  # cumulative: noise jumps favour a random set of popular items
    sequences = [_walk(rng, succ, succ_p, members, popularity, min_len, max_len) for _ in range(num_users)]
    data = from_sequences(sequences, num_items=num_items, item_attributes=attributes, name="synthetic")
    return dataclasses.replace(data, source=f"make_synthetic(num_users={num_users}, num_items={num_items}, "
                               f"num_categories={num_categories}, min_len={min_len}, max_len={max_len}, seed={seed})")


def _attributes(rng: np.random.Generator, category: np.ndarray, num_categories: int) -> dict[int, list[int]]:
    """{item id: [category id, style id, maybe a second style id]}; styles are windows of neighbouring ids."""
    n = len(category)
    index = np.arange(n)
    style = num_categories + 1 + index // STYLE_WINDOW
    style2 = style.max() + 1 + (index + STYLE2_WINDOW // 2) // STYLE2_WINDOW
    has2 = rng.random(n) < 0.5
    return {i + 1: [int(category[i]) + 1, int(style[i])] + ([int(style2[i])] if has2[i] else []) for i in range(n)}


def _transitions(rng: np.random.Generator, category: np.ndarray,
                 members: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Successor indexes (N, 5) and their probabilities (N, 5; zero-padded rows of 3-5 successors)."""
    n = len(category)
    succ = np.zeros((n, 5), dtype=np.int64)
    prob = np.zeros((n, 5))
    counts = np.minimum(rng.integers(3, 6, size=n), n - 1)
    for i in range(n):
        block = members[category[i]]
        pos = int(np.searchsorted(block, i))
        chosen: list[int] = []
        while len(chosen) < counts[i]:
            if rng.random() < SAME_CATEGORY and len(block) > 1:
                step = int(rng.integers(1, min(6, len(block))))  # a near neighbour, wrapping in the block
                j = int(block[(pos + step * (1 if rng.random() < 0.7 else -1)) % len(block)])
            else:
                j = int(rng.integers(n))
            if j != i and j not in chosen:
                chosen.append(j)
        k = len(chosen)
        if k:
            succ[i, :k] = chosen
            prob[i, :k] = np.sort(rng.dirichlet(np.ones(k)))[::-1]
    return succ, prob


def _walk(rng: np.random.Generator, succ: np.ndarray, succ_p: np.ndarray, members: list[np.ndarray],
          cum_popularity: np.ndarray, min_len: int, max_len: int) -> list[int]:
    """One user's sequence of distinct item ids."""
    n = len(cum_popularity)
    favourites = rng.choice(len(members), size=min(int(rng.integers(1, 4)), len(members)), replace=False)
    pool = np.concatenate([members[c] for c in favourites])
    length = int(rng.integers(min_len, max_len + 1))
    draws = rng.random((length, 3))
    current = int(pool[int(draws[0, 1] * len(pool))])
    seen = {current}
    out = [current + 1]
    for r, u, v in draws[1:]:
        nxt = -1
        if r < FOLLOW:
            options = [(int(j), p) for j, p in zip(succ[current], succ_p[current]) if p > 0 and j not in seen]
            if options:
                cum = np.cumsum([p for _, p in options])
                nxt = options[min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(options) - 1)][0]
        elif r < FOLLOW + FAVOURITE:
            nxt = int(pool[int(u * len(pool))])
        else:
            nxt = min(int(np.searchsorted(cum_popularity, u, side="right")), n - 1)
        if nxt < 0 or nxt in seen:  # fall back to an unseen favourite, then to any unseen item
            fresh = [int(j) for j in pool if j not in seen] or [j for j in range(n) if j not in seen]
            nxt = fresh[int(v * len(fresh))]
        seen.add(nxt)
        out.append(nxt + 1)
        current = nxt
    return out
