"""Top-k recommendations from a trained model, in the data's own ids: what a service holds.

``Recommender`` wraps an encoder (eval mode) and its ``Vocabulary``. Scores are those of evaluation
(``h_last . e_i``, ``ssrec.evaluation.ranking.encoder_scorer``); PAD and MASK are never recommended and the
items of the history are excluded unless asked. Users are scored in chunks whose score matrix stays under
``SCORE_BUDGET`` floats, so memory is bounded for any catalogue.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ssrec.contracts import USERS, Encoder, sequence_summary
from ssrec.data.batching import trim_leading_padding
from ssrec.data.split import left_padded
from ssrec.evaluation.ranking import SCORE_BUDGET, concatenated_ranges
from ssrec.io.checkpoint import CheckpointError, load_checkpoint, rebuild_backbone
from ssrec.serving.vocabulary import OnUnknown, UnknownIdError, Vocabulary

log = logging.getLogger(__name__)


class MissingVocabulary(CheckpointError):
    """A checkpoint that records no item ids (written before ssrec kept them, or imported)."""


@dataclass(frozen=True)
class Recommendations:
    """``items[r]``: the data's ids of row r's top-k items, best first; ``scores`` (R, k) their scores.

    A row whose history leaves fewer than k candidates has fewer items; its missing scores are -inf.
    """

    items: list[list[str]]
    scores: np.ndarray


class Recommender:
    """Top-k next items for histories given in the data's own item ids.

    Args:
        encoder: a trained backbone with causal output (it is put in eval mode).
        vocabulary: the ids of its items (``Vocabulary.items[i - 1]`` is item i).
        device: where to score.
    """

    def __init__(self, encoder: Encoder, vocabulary: Vocabulary, device: str | torch.device = "cpu") -> None:
        num_items = encoder.item_embeddings.num_embeddings - 2
        if vocabulary.num_items != num_items:
            raise ValueError(f"the vocabulary names {vocabulary.num_items} items, the model scores {num_items}")
        self.device = torch.device(device)
        self.encoder = encoder.to(self.device).eval()
        self.vocabulary = vocabulary
        self.max_len = int(encoder.spec.get("max_len", 50))

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu",
             vocabulary: Vocabulary | None = None) -> Recommender:
        """From an ssrec checkpoint file, or from a folder written by ``ssrec export --format safetensors``.

        A checkpoint written before ssrec kept item ids (or imported from the authors' release) has no
        vocabulary: pass one (``Vocabulary.of(dataset)``), or it is refused.
        """
        path = Path(path)
        kept: Vocabulary | None
        if path.is_dir():
            from ssrec.serving.export import load_safetensors

            encoder, kept = load_safetensors(path)
        else:
            payload = load_checkpoint(path)
            encoder = rebuild_backbone(payload)
            kept = (Vocabulary.from_record(payload["vocabulary"], str(path)) if payload.get("vocabulary") is not None
                    else None)
        chosen = vocabulary or kept
        if chosen is None:
            raise MissingVocabulary(f"{path}: the checkpoint records no item ids (written before ssrec kept them, or "
                                  "imported); give the data it was trained on (--data) to read them from")
        return cls(encoder, chosen, device)

    @property
    def needs_users(self) -> bool:
        return USERS in self.encoder.capabilities

    def recommend(self, histories: Sequence[Sequence[Any]], k: int = 10, *, exclude_seen: bool = True,
                  users: Sequence[Any] | None = None, on_unknown: OnUnknown = "error") -> Recommendations:
        """Top-``k`` items for each history (the data's item ids, oldest first).

        ``users`` (the data's user ids) are needed by a backbone with a user embedding. An item id the model
        does not know raises ``UnknownIdError``; with ``on_unknown="skip"`` it is dropped from its history
        (logged, with the count). A history left empty is an error.
        """
        numbers = []
        skipped = 0
        for row, history in enumerate(histories):
            ids = self.vocabulary.item_numbers(history, on_unknown=on_unknown, where=f"history {row}: ")
            skipped += int((ids == 0).sum())
            ids = ids[ids > 0]
            if not len(ids):
                raise ValueError(f"history {row} has no item the model knows; nothing to recommend from")
            numbers.append(ids)
        if skipped:
            log.warning("skipped %d item ids the model does not know", skipped)
        lengths = np.array([len(n) for n in numbers], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
        user_rows = self.user_rows(users, len(numbers))
        items, scores = [], []
        for chunk_items, chunk_scores in self.top_k(flat, offsets, k, exclude_seen=exclude_seen, users=user_rows):
            items.extend(chunk_items)
            scores.append(chunk_scores)
        return Recommendations(items, np.concatenate(scores) if scores else np.zeros((0, k), dtype=np.float32))

    def user_rows(self, users: Sequence[Any] | None, count: int) -> np.ndarray | None:
        """The model's user rows of ``users`` (needed, and only used, by a backbone with a user embedding)."""
        if not self.needs_users:
            return None
        known = self.vocabulary.users
        if users is None or known is None:
            raise ValueError(f"backbone {self.encoder.name!r} has a user embedding: give the users' ids "
                             "(and a checkpoint that records them)")
        if len(users) != count:
            raise ValueError(f"{len(users)} user ids for {count} histories")
        index = {u: r for r, u in enumerate(known)}
        missing = [u for u in users if str(u) not in index]
        if missing:
            raise UnknownIdError(f"user id {missing[0]!r} is not among the {len(known)} users the model was "
                                 f"trained on ({len(missing)} unknown)")
        return np.array([index[str(u)] for u in users], dtype=np.int64)

    @property
    def chunk_rows(self) -> int:
        """Histories scored at once: their score matrix stays under ``SCORE_BUDGET`` floats."""
        return max(1, SCORE_BUDGET // (self.vocabulary.num_items + 2))

    def check_k(self, k: int) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= self.vocabulary.num_items:
            raise ValueError(f"k must be an integer in 1..{self.vocabulary.num_items} (the model's items), got {k!r}")

    @torch.no_grad()
    def top_k(self, items: np.ndarray, offsets: np.ndarray, k: int, *, exclude_seen: bool = True,
              users: np.ndarray | None = None) -> Iterator[tuple[list[list[str]], np.ndarray]]:
        """Chunks of (ids of the top-k items, their scores (B, k)) for the histories ``items[offsets[r]:offsets[r
        + 1]]`` (item numbers 1..N, CSR), in row order. The model sees the last ``max_len`` items of a history;
        the whole history is excluded (unless ``exclude_seen=False``)."""
        self.check_k(k)
        rows_total = len(offsets) - 1
        for lo in range(0, rows_total, self.chunk_rows):
            rows = np.arange(lo, min(lo + self.chunk_rows, rows_total))
            starts, ends = offsets[rows], offsets[rows + 1]
            (x,) = trim_leading_padding(torch.from_numpy(left_padded(items, starts, ends, self.max_len)))  # (B, L')
            u = torch.from_numpy(users[rows]).to(self.device) if users is not None else None
            h = sequence_summary(self.encoder, x.to(self.device), causal=True, users=u)  # (B, H)
            scores = (h @ self.encoder.item_embeddings.weight.T).float()  # (B, N + 2)
            scores[:, 0] = scores[:, -1] = float("-inf")  # PAD and MASK
            if exclude_seen:
                seen_rows = np.repeat(np.arange(len(rows)), ends - starts)
                seen = items[concatenated_ranges(starts, ends)]
                scores[torch.from_numpy(seen_rows).to(self.device), torch.from_numpy(seen).to(self.device)] = \
                    float("-inf")
            top, best = scores.topk(k, dim=1)  # (B, k), (B, k)
            top, best = top.cpu().numpy(), best.cpu().numpy()
            ids = self.vocabulary.ids_of(best)
            yield [list(ids[r][np.isfinite(top[r])]) for r in range(len(rows))], top


__all__ = ["Recommendations", "Recommender", "UnknownIdError", "Vocabulary"]
