"""The evaluation protocol as a value: full ranking, or sampled ranking with its negatives, and the
validation metric that selects models under it (the release: NDCG@20 for full ranking, MRR for sampled)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

ProtocolName = Literal["full", "sampled"]
#: the released validation metric of each protocol
VALID_METRIC = {"full": "NDCG@20", "sampled": "MRR"}


@dataclass(frozen=True)
class RankingProtocol:
    """How a target is ranked: among all items (``full``) or among its user's row of ``negatives`` (U, K)."""

    name: ProtocolName
    negatives: torch.Tensor | None = None
    valid_metric: str = ""  # "" : the protocol's released metric

    def __post_init__(self) -> None:
        if self.name not in VALID_METRIC:
            raise ValueError(f"unknown protocol {self.name!r}; expected 'full' or 'sampled'")
        if self.name == "sampled" and self.negatives is None:
            raise ValueError("the sampled protocol needs negatives (a file, or generated with a seed)")
        if not self.valid_metric:
            object.__setattr__(self, "valid_metric", VALID_METRIC[self.name])

    @classmethod
    def named(cls, name: str, negatives: torch.Tensor | None = None,
              valid_metric: str | None = None) -> RankingProtocol:
        """The protocol ``name`` ("full" ignores ``negatives``)."""
        return cls(name, negatives if name == "sampled" else None, valid_metric or "")  # type: ignore[arg-type]
