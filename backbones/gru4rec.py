"""GRU4Rec (Hidasi et al., ICLR 2016), in the layout RecBole uses for sequential recommendation.

item embedding -> dropout -> GRU (no biases) -> Linear to the embedding size. The output at position t
summarises items 0..t, so the backbone is causal by construction, with an output at every position:
S3-Rec's objectives pre-train it unidirectionally (the paper's Fig. 3). The item table is tied (input,
MIP targets, fine-tuning output layer).

The GRU has no biases, so its state stays exactly zero over the leading PAD positions (zero input, zero
state): outputs at real positions do not depend on how much left padding a batch carries, which lets
batches be trimmed to their longest row.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ssrec.contracts import CAUSAL, PER_POSITION
from ssrec.nn.dropout import Dropout


class GRU4Rec(nn.Module):
    """GRU4Rec satisfying ``ssrec.contracts.Encoder`` (causal only).

    Args:
        num_items: N; the item table has N + 2 rows (PAD 0, MASK N + 1).
        hidden_size: H, the item embedding size and the output width.
        recurrent_size: the GRU's state size.
        num_layers: stacked GRU layers.
        dropout: dropout on the item embeddings.
        max_len: the longest input accepted (kept for a uniform interface; a GRU has no length limit).
    """

    def __init__(self, num_items: int, *, hidden_size: int = 64, recurrent_size: int = 128, num_layers: int = 1,
                 dropout: float = 0.3, max_len: int = 50) -> None:
        super().__init__()
        self.spec: dict[str, Any] = dict(num_items=num_items, hidden_size=hidden_size, recurrent_size=recurrent_size,
                                         num_layers=num_layers, dropout=dropout, max_len=max_len)
        self.num_items = num_items
        self.hidden_size = hidden_size
        self.max_len = max_len
        self.default_causal = True
        self.capabilities = frozenset({CAUSAL, PER_POSITION})
        self.item_embeddings = nn.Embedding(num_items + 2, hidden_size, padding_idx=0)
        self.embedding_dropout = Dropout(dropout)
        self.gru = nn.GRU(hidden_size, recurrent_size, num_layers=num_layers, bias=False, batch_first=True)
        self.projection = nn.Linear(recurrent_size, hidden_size)
        nn.init.xavier_normal_(self.item_embeddings.weight)
        with torch.no_grad():
            self.item_embeddings.weight[0].zero_()
        for weight in self.gru.parameters():
            nn.init.xavier_uniform_(weight)
        nn.init.xavier_normal_(self.projection.weight)
        nn.init.zeros_(self.projection.bias)

    def encode(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        """Left-padded item ids (B, L) -> hidden states (B, L, H); output t depends on items 0..t only."""
        if causal is False:
            raise ValueError(f"backbone {getattr(self, 'name', 'gru4rec')!r} is causal only; "
                             "it cannot encode bidirectionally")
        x = self.embedding_dropout(self.item_embeddings(items))  # (B, L, H)
        states, _ = self.gru(x)  # (B, L, recurrent_size)
        return self.projection(states)  # (B, L, H)

    def forward(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        return self.encode(items, causal=causal)
