"""Ranking evaluation under the two protocols of the S3-Rec paper.

- ``sampled``: rank the target among 99 fixed negatives per user (distinct, uniform, not the user's items,
  the same set for validation and test).
- ``full``: rank the target among all items; PAD, MASK and the user's history (other than the target
  itself) get -inf. Users are scored in chunks so memory stays bounded for any catalogue.

Rank = number of candidates scored above the target, ties counted against it (a constant scorer
gets the worst rank, never the best). HR@k = [rank < k], NDCG@k = [rank < k] / log2(rank + 2),
MRR = 1 / (rank + 1), untruncated.

Under ``torchrun`` each process scores its own chunks of users and the ranks are summed across processes
(``ssrec.distributed``): the metrics are exactly those of one process.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ssrec.contracts import Encoder, sequence_summary
from ssrec.data.batching import trim_leading_padding
from ssrec.data.split import LeaveOneOut, Split
from ssrec.distributed import all_reduce_sum, owns
from ssrec.evaluation.protocol import RankingProtocol
from ssrec.progress import progress

#: (left-padded inputs (B, L), user rows (B,)) -> scores of every item id (B, N + 2)
Scorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

HR_KS = (1, 5, 10, 20)
NDCG_KS = (5, 10, 20)
#: every metric ``metrics_from_ranks`` reports, in table order
METRICS = (*(f"HR@{k}" for k in HR_KS), *(f"NDCG@{k}" for k in NDCG_KS), "MRR")
#: scores held at once in full ranking: 16 MiB of float32, so that the passes after the product read them from
#: cache (Beauty, all users, one thread: 0.77 s, against 1.36 s with 1 << 24 and 0.90 s with 1 << 20)
SCORE_BUDGET = 1 << 22


def metrics_from_ranks(ranks: torch.Tensor) -> dict[str, float]:
    """HR@{1,5,10,20}, NDCG@{5,10,20} and MRR from 0-based ranks (U,)."""
    ranks = ranks.double()
    out = {f"HR@{k}": float((ranks < k).double().mean()) for k in HR_KS}
    gain = 1.0 / torch.log2(ranks + 2.0)
    out.update({f"NDCG@{k}": float(torch.where(ranks < k, gain, 0.0).mean()) for k in NDCG_KS})
    out["MRR"] = float((1.0 / (ranks + 1.0)).mean())
    return out


class EncoderScorer:
    """Scores every item id as h_last . e_i, h_last = the causal output at the last position (a ``Scorer``).

    Its two factors are exposed (``user_vectors``, ``item_vectors``) so that full ranking multiplies them into
    one buffer it reuses for every chunk of users, instead of a fresh (B, N + 2) tensor per chunk: on the CPU
    each fresh tensor of that size is mapped and zero-filled page by page, which took longer than the
    product itself (Beauty, all users: 1.92 s before, see the issue-18 note).
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def user_vectors(self, inputs: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        """h_last (B, H) of left-padded ``inputs`` (B, L)."""
        return sequence_summary(self.encoder, inputs, causal=True, users=users)

    @property
    def item_vectors(self) -> torch.Tensor:
        """e_i for every item id (N + 2, H)."""
        return self.encoder.item_embeddings.weight

    def __call__(self, inputs: torch.Tensor, users: torch.Tensor) -> torch.Tensor:
        return self.user_vectors(inputs, users) @ self.item_vectors.T  # (B, N + 2)


def encoder_scorer(encoder: Encoder) -> EncoderScorer:
    """The scorer of a fine-tuned encoder (see ``EncoderScorer``)."""
    return EncoderScorer(encoder)


def _count_at_or_above(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per row of ``scores`` (B, C), the candidates scoring >= that row's ``target`` (B,): ties count against it.

    Compared in place and the 0/1 floats summed (exact below 2**24 candidates): three times faster than
    summing a bool tensor, which is widened to int64 first. ``scores`` is overwritten.
    """
    return scores.ge_(target[:, None]).sum(dim=1).long()


def concatenated_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``np.concatenate([arange(a, b) for a, b in zip(starts, ends)])``, without the Python loop."""
    counts = ends - starts
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return shift + np.arange(int(counts.sum()))


def _by_length(inputs: torch.Tensor) -> torch.Tensor:
    """User order by input length, so that chunks trimmed to their longest row waste little work."""
    return torch.argsort((inputs != 0).sum(dim=1), stable=True)


@torch.no_grad()
def rank_sampled(score: Scorer, inputs: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor,
                 batch_size: int = 1024, device: torch.device | str = "cpu") -> torch.Tensor:
    """Ranks (U,) of each target among its row of ``negatives`` (U, 99)."""
    ranks = torch.zeros(len(inputs), dtype=torch.long)
    for chunk, users in enumerate(_by_length(inputs).split(batch_size)):
        if not owns(chunk):  # another process scores it
            continue
        (x,) = trim_leading_padding(inputs[users])
        candidates = torch.cat([targets[users, None], negatives[users]], dim=1).to(device)  # (B, 1 + 99)
        if isinstance(score, EncoderScorer):  # only the candidates' scores: 1 + 99 of N + 2 columns
            h = score.user_vectors(x.to(device), users.to(device)).float()  # (B, H)
            s = torch.bmm(score.item_vectors.float()[candidates], h[:, :, None])[:, :, 0]  # (B, 1 + 99)
        else:
            s = score(x.to(device), users.to(device)).float().gather(1, candidates)  # (B, 1 + 99)
        # the 0-based rank of the target among its negatives (s is this chunk's own: compared in place)
        ranks[users] = _count_at_or_above(s[:, 1:], s[:, 0].clone()).cpu()
    return all_reduce_sum(ranks)  # every process scored its own chunks; the others' ranks are zero here


@torch.no_grad()
def rank_full(score: Scorer, split: LeaveOneOut, which: Split, device: torch.device | str = "cpu",
              score_budget: int = SCORE_BUDGET) -> torch.Tensor:
    """Ranks (U,) of each target among all items, history/PAD/MASK excluded, in bounded-memory chunks."""
    data = split.dataset
    width = data.num_items + 2
    inputs, targets = split.inputs(which), split.targets(which)
    starts, ends = data.offsets[:-1], split.history_ends(which)
    chunk = max(1, score_budget // width)
    ranks = torch.zeros(data.num_users, dtype=torch.long)
    chunks = _by_length(inputs).split(chunk)
    buffer = None  # the scores of one chunk, reused (EncoderScorer)
    for index, users in progress(enumerate(chunks), len(chunks), f"full ranking ({which})"):
        if not owns(index):  # another process scores it
            continue
        (x,) = trim_leading_padding(inputs[users])
        if isinstance(score, EncoderScorer):
            h = score.user_vectors(x.to(device), users.to(device)).float()  # (B, H)
            if buffer is None:
                buffer = torch.empty(chunk, width, device=h.device)
            s = torch.mm(h, score.item_vectors.float().T, out=buffer[:len(users)])  # (B, N + 2)
        else:  # another scorer's tensor may be shared (an expanded row): overwrite a copy
            s = score(x.to(device), users.to(device)).float().clone()  # (B, N + 2)
        t_ids = targets[users].to(device)
        t = s.gather(1, t_ids[:, None])[:, 0]  # (B,)
        # every (row, item) of the chunk's histories, as flat indices into s
        u = users.numpy()
        counts = ends[u] - starts[u]
        rows = np.repeat(np.arange(len(u)), counts)
        cols = data.items[concatenated_ranges(starts[u], ends[u])]
        s.view(-1)[torch.from_numpy(rows * width + cols).to(device)] = float("-inf")
        s[:, 0] = float("-inf")
        s[:, -1] = float("-inf")
        s.scatter_(1, t_ids[:, None], float("-inf"))  # the target is not its own competitor
        ranks[users] = _count_at_or_above(s, t).cpu()
    return all_reduce_sum(ranks)  # every process scored its own chunks; the others' ranks are zero here


def evaluate(score: Scorer, split: LeaveOneOut, which: Split, protocol: RankingProtocol | str,
             negatives: torch.Tensor | None = None, device: torch.device | str = "cpu") -> dict[str, float]:
    """Metrics of ``score`` on the validation or test targets under ``protocol``.

    ``protocol`` is a ``RankingProtocol``, or its name with the sampled protocol's ``negatives`` (U, 99).
    """
    if isinstance(protocol, str):
        protocol = RankingProtocol.named(protocol, negatives)
    if protocol.negatives is not None:
        ranks = rank_sampled(score, split.inputs(which), split.targets(which), protocol.negatives, device=device)
    else:
        ranks = rank_full(score, split, which, device=device)
    return metrics_from_ranks(ranks)
