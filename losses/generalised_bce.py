"""gSASRec's generalised binary cross-entropy (Petrov & Macdonald, RecSys 2023), k negatives per position."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssrec.contracts import LossContext
from ssrec.losses.common import check_negatives, sampling_probabilities, target_positions


class GeneralisedBCELoss:
    """BCE against k uniform negatives with the positive's probability raised to beta (overconfidence fix).

    alpha = k / (N - 1) is the sampling rate and beta = alpha (t (1 - 1/alpha) + 1/alpha); t = 0 gives
    plain BCE with k negatives, t = 1 the full-catalogue calibration. Per target position, as gSASRec's
    reference code computes it (the mean of k + 1 binary terms):
    ``(-beta log sigmoid(s+) - sum_j log(1 - sigmoid(s_j))) / (k + 1)``, accidental hits (a negative equal to
    the target) left out of the sum; the loss is the mean over target positions.

    Args:
        num_negatives: k, drawn uniformly from items 1..N for every target position (with replacement), as
            gSASRec samples them.
        t: the calibration parameter (gSASRec's default 0.75).
    """

    name = "gbce"

    def __init__(self, num_negatives: int = 256, t: float = 0.75) -> None:
        check_negatives(num_negatives, "uniform", "loss 'gbce'")
        if not (isinstance(t, (int, float)) and not isinstance(t, bool) and 0.0 <= t <= 1.0):
            raise ValueError(f"loss 'gbce': t must be a number in [0, 1], got {t!r}")
        self.num_negatives, self.t = num_negatives, float(t)
        self.spec = {"num_negatives": num_negatives, "t": self.t}

    def setup(self, context: LossContext) -> None:
        self.q = sampling_probabilities(context.item_counts, "uniform")
        alpha = self.num_negatives / max(context.num_items - 1, 1)
        self.beta = alpha * (self.t * (1.0 - 1.0 / alpha) + 1.0 / alpha)

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        h, pos_ids, _ = target_positions(hidden, targets)  # (T, H), (T,)
        negatives = torch.randint(1, len(self.q) - 1, (len(pos_ids), self.num_negatives), generator=generator,
                                  device=hidden.device)  # (T, k)
        pos = (h * item_table[pos_ids]).sum(-1)  # (T,)
        neg = torch.einsum("th,tkh->tk", h, item_table[negatives])  # (T, k)
        kept = negatives != pos_ids[:, None]  # (T, k): accidental hits left out
        per_position = -self.beta * F.logsigmoid(pos) - (F.logsigmoid(-neg) * kept).sum(-1)  # (T,)
        return (per_position / (self.num_negatives + 1)).mean()
