"""Sampled softmax with logQ correction (Jean et al., 2015; Yi et al., 2019), negatives shared by the batch."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.contracts import LossContext
from ssrec.losses.common import check_negatives, sampling_probabilities, shared_negatives, target_positions


class SampledSoftmaxLoss:
    """Cross-entropy of the target against ``num_negatives`` items drawn once per batch from ``distribution``.

    Every logit s_i = h . e_i is corrected by -log(k q_i), q the sampling distribution (as TensorFlow's
    ``sampled_softmax_loss``: target and negatives alike), so the estimate is unbiased for the full softmax
    whatever q; a negative that equals the position's target (an accidental hit) is removed (logit -inf).
    Loss = mean over target positions of ``-log softmax([s+ - log kq+, s_j - log kq_j])[0]``.

    Args:
        num_negatives: k, drawn with replacement from items 1..N once per batch.
        distribution: "uniform" or "popularity" (training-target frequency plus one).
    """

    name = "sampled-softmax"

    def __init__(self, num_negatives: int = 256, distribution: str = "uniform") -> None:
        check_negatives(num_negatives, distribution, "loss 'sampled-softmax'")
        self.num_negatives, self.distribution = num_negatives, distribution
        self.spec = {"num_negatives": num_negatives, "distribution": distribution}

    def setup(self, context: LossContext) -> None:
        self.q = sampling_probabilities(context.item_counts, self.distribution)
        self.log_kq = torch.log(self.num_negatives * self.q)  # (N + 2,), -inf for PAD and MASK only

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        q, log_kq = self.q.to(hidden.device), self.log_kq.to(hidden.device)
        negatives = shared_negatives(q, self.num_negatives, generator)  # (k,)
        h, pos_ids, _ = target_positions(hidden, targets)  # (T, H), (T,)
        pos = (h * item_table[pos_ids]).sum(-1) - log_kq[pos_ids]  # (T,)
        neg = h @ item_table[negatives].T - log_kq[negatives]  # (T, k)
        neg = neg.masked_fill(negatives[None, :] == pos_ids[:, None], float("-inf"))
        logits = torch.cat([pos[:, None], neg], dim=1)  # (T, 1 + k)
        return F.cross_entropy(logits, torch.zeros_like(pos_ids))
