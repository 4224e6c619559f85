"""Caser (Tang and Wang, WSDM 2018): convolutional sequence embedding, in the layout RecBole uses.

The last ``window`` items form an image (window x H): horizontal convolutions of every height 1..window
(ReLU, max-pooled over time) and a vertical convolution over the window; their concatenation goes
through dropout and a Linear+ReLU to H, is joined with the user's embedding, and a last Linear+ReLU
gives the sequence representation, scored against the tied item table.

Caser produces a sequence summary only: no per-position output, so it declares no ``per_position``
capability. S3-Rec's per-position objectives cannot pre-train it, and ``ssrec.compose`` says so; it
takes the item embeddings of any pre-trained ssrec checkpoint of the same hidden size instead (the
paper's Fig. 3), through ``ssrec.io.transfer``. Fine-tuning trains it on every prefix of the training items.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import CAUSAL, USERS
from ssrec.nn.dropout import Dropout


class Caser(nn.Module):
    """Caser satisfying ``ssrec.contracts.Encoder`` (sequence summary only, causal).

    Args:
        num_items: N; the item table has N + 2 rows (PAD 0, MASK N + 1).
        num_users: U for a user embedding (the ``users`` capability); 0 leaves it out.
        hidden_size: H, the item (and user) embedding size and the output width.
        window: L of the paper, the number of most recent items convolved.
        num_horizontal, num_vertical: filters per horizontal height, vertical filters.
        dropout: dropout on the concatenated convolution features.
        max_len: the longest input accepted; only its last ``window`` items are read.
    """

    def __init__(self, num_items: int, *, num_users: int = 0, hidden_size: int = 64, window: int = 5,
                 num_horizontal: int = 16, num_vertical: int = 4, dropout: float = 0.4, max_len: int = 50) -> None:
        super().__init__()
        if window < 1 or window > max_len:
            raise ValueError(f"window must lie in 1..max_len={max_len}, got {window}")
        self.spec: dict[str, Any] = dict(num_items=num_items, num_users=num_users, hidden_size=hidden_size,
                                         window=window, num_horizontal=num_horizontal, num_vertical=num_vertical,
                                         dropout=dropout, max_len=max_len)
        self.num_items = num_items
        self.hidden_size = hidden_size
        self.window = window
        self.max_len = max_len
        self.default_causal = True
        self.capabilities = frozenset({CAUSAL} | ({USERS} if num_users else set()))
        self.item_embeddings = nn.Embedding(num_items + 2, hidden_size, padding_idx=0)
        self.user_embeddings = nn.Embedding(num_users, hidden_size) if num_users else None
        self.vertical = nn.Conv2d(1, num_vertical, (window, 1))
        self.horizontal = nn.ModuleList(nn.Conv2d(1, num_horizontal, (h, hidden_size)) for h in range(1, window + 1))
        self.dropout = Dropout(dropout)
        self.features = nn.Linear(num_vertical * hidden_size + num_horizontal * window, hidden_size)
        self.output = nn.Linear(hidden_size * (2 if num_users else 1), hidden_size)
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, 1.0 / hidden_size)
            elif isinstance(module, nn.Linear):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)
        with torch.no_grad():
            self.item_embeddings.weight[0].zero_()

    def summarize(self, items: torch.Tensor, *, causal: bool | None = None,
                  users: torch.Tensor | None = None) -> torch.Tensor:
        """Left-padded item ids (B, L) -> the sequence representation (B, H), from the last ``window`` items."""
        if causal is False:
            raise ValueError(f"backbone {getattr(self, 'name', 'caser')!r} is causal only; it cannot encode "
                             "bidirectionally")
        if items.shape[1] > self.max_len:
            raise ValueError(f"sequence length {items.shape[1]} exceeds max_len={self.max_len}")
        if (users is None) != (self.user_embeddings is None):
            raise ValueError("Caser built with num_users needs users=, and without it takes none")
        recent = F.pad(items, (max(0, self.window - items.shape[1]), 0))[:, -self.window:]  # (B, W)
        image = self.item_embeddings(recent)[:, None]  # (B, 1, W, H)
        vertical = self.vertical(image).flatten(1)  # (B, n_v * H)
        horizontal = [F.relu(conv(image).squeeze(3)).amax(dim=2) for conv in self.horizontal]  # W x (B, n_h)
        z = F.relu(self.features(self.dropout(torch.cat([vertical, *horizontal], dim=1))))  # (B, H)
        if self.user_embeddings is not None:
            z = torch.cat([z, self.user_embeddings(users)], dim=1)  # (B, 2H)
        return F.relu(self.output(z))  # (B, H)

    def encode(self, items: torch.Tensor, *, causal: bool | None = None,
               users: torch.Tensor | None = None) -> torch.Tensor:
        """The summary at the last position, (B, 1, H): Caser has no per-position output."""
        return self.summarize(items, causal=causal, users=users)[:, None, :]

    def forward(self, items: torch.Tensor, *, causal: bool | None = None,
                users: torch.Tensor | None = None) -> torch.Tensor:
        return self.encode(items, causal=causal, users=users)
