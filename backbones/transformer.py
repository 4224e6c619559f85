"""The Transformer encoder of S3-Rec / SASRec, readable in one file.

As released by the S3-Rec authors: item embedding + learned absolute position embedding (positions
0..L-1 irrespective of padding) -> LayerNorm(eps 1e-12) -> dropout; then post-LN layers of
multi-head self-attention and a GELU feed-forward block. No sqrt(d) scaling of the embeddings.
Every Linear and Embedding is initialised N(0, 0.02), biases 0, LayerNorm weights 1.

``transformer`` runs bidirectionally by default (S3-Rec pre-training) and causally on request
(fine-tuning); ``sasrec`` is the same network whose default, and only, mode is causal.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ssrec.contracts import BIDIRECTIONAL, CAUSAL, PER_POSITION
from ssrec.nn.attention import attention, attention_mask, check_implementation
from ssrec.nn.dropout import Dropout

LAYER_NORM_EPS = 1e-12


class SelfAttention(nn.Module):
    """Multi-head self-attention with a residual connection and post-LayerNorm."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float, attention_dropout: float,
                 implementation: str) -> None:
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not a multiple of num_heads={num_heads}")
        self.num_heads = num_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=LAYER_NORM_EPS)
        self.dropout = Dropout(dropout)
        self.attention_dropout = attention_dropout
        self.implementation = implementation

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, L, H = x.shape
        return x.view(B, L, self.num_heads, H // self.num_heads).transpose(1, 2)  # (B, heads, L, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """(B, L, H) -> (B, L, H); with ``last_only`` only the last position is computed: (B, 1, H)."""
        B, L, H = x.shape
        queries = x[:, -1:] if last_only else x  # (B, Lq, H)
        if last_only:
            mask = mask[..., -1:, :]  # (B, 1, 1, L)
        q, k, v = self._heads(self.query(queries)), self._heads(self.key(x)), self._heads(self.value(x))
        p = self.attention_dropout if self.training else 0.0
        context = attention(q, k, v, mask, dropout_p=p, implementation=self.implementation)  # (B, heads, Lq, d)
        context = context.transpose(1, 2).reshape(B, queries.shape[1], H)  # (B, Lq, H)
        return self.norm(self.dropout(self.output(context)) + queries)


class FeedForward(nn.Module):
    """Position-wise Linear -> erf-GELU -> Linear, residual, post-LayerNorm."""

    def __init__(self, hidden_size: int, inner_size: int, dropout: float) -> None:
        super().__init__()
        self.up = nn.Linear(hidden_size, inner_size)
        self.down = nn.Linear(inner_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=LAYER_NORM_EPS)
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.dropout(self.down(F.gelu(self.up(x)))) + x)  # (B, L, H)


class TransformerLayer(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, inner_size: int, dropout: float,
                 attention_dropout: float, implementation: str) -> None:
        super().__init__()
        self.attention = SelfAttention(hidden_size, num_heads, dropout, attention_dropout, implementation)
        self.feed_forward = FeedForward(hidden_size, inner_size, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        return self.feed_forward(self.attention(x, mask, last_only))


class Transformer(nn.Module):
    """The S3-Rec / SASRec encoder (see the module docstring). Satisfies ``ssrec.contracts.Encoder``.

    Args:
        num_items: N; the item table has N + 2 rows (PAD 0, MASK N + 1).
        max_len: L, the longest input; sequences are left-padded to it.
        causal: the default mode (False: bidirectional, as in S3-Rec pre-training).
        allow_bidirectional: False makes a causal-only backbone (SASRec) that refuses ``causal=False``.
        attention: the attention implementation, ``"auto"``, ``"eager"``, ``"sdpa"`` or ``"flex"``
            (``ssrec.nn.attention``).
    """

    def __init__(self, num_items: int, *, hidden_size: int = 64, num_layers: int = 2, num_heads: int = 2,
                 inner_size: int = 256, max_len: int = 50, dropout: float = 0.5, attention_dropout: float = 0.5,
                 causal: bool = False, allow_bidirectional: bool = True, attention: str = "auto",
                 initializer_range: float = 0.02) -> None:
        super().__init__()
        if not allow_bidirectional and not causal:
            raise ValueError("a backbone that does not allow bidirectional attention must default to causal")
        check_implementation(attention)
        self.spec: dict[str, Any] = dict(
            num_items=num_items, hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
            inner_size=inner_size, max_len=max_len, dropout=dropout, attention_dropout=attention_dropout,
            causal=causal, allow_bidirectional=allow_bidirectional, attention=attention,
            initializer_range=initializer_range)
        self.num_items = num_items
        self.hidden_size = hidden_size
        self.max_len = max_len
        self.default_causal = causal
        self.capabilities = frozenset({CAUSAL, PER_POSITION} | ({BIDIRECTIONAL} if allow_bidirectional else set()))
        self.item_embeddings = nn.Embedding(num_items + 2, hidden_size, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_len, hidden_size)
        self.embedding_norm = nn.LayerNorm(hidden_size, eps=LAYER_NORM_EPS)
        self.embedding_dropout = Dropout(dropout)
        self.layers = nn.ModuleList(
            TransformerLayer(hidden_size, num_heads, inner_size, dropout, attention_dropout, attention)
            for _ in range(num_layers))
        self._initializer_range = initializer_range
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(0.0, self._initializer_range)  # the PAD row too, as released
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    def set_attention(self, implementation: str) -> None:
        """Switch every layer to another attention implementation (weights unchanged)."""
        check_implementation(implementation)
        for layer in self.layers:
            layer.attention.implementation = implementation
        self.spec["attention"] = implementation

    def encode(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        """Left-padded item ids (B, L <= max_len) -> hidden states (B, L, H)."""
        return self._run(items, causal, last_only=False)

    def summarize(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        """The output at the last position (B, H), equal to ``encode(items)[:, -1]``.

        The last layer computes queries, attention and the feed-forward block for that position only.
        """
        return self._run(items, causal, last_only=True)[:, -1]

    def _run(self, items: torch.Tensor, causal: bool | None, last_only: bool) -> torch.Tensor:
        causal = self.default_causal if causal is None else causal
        if not causal and BIDIRECTIONAL not in self.capabilities:
            raise ValueError(f"backbone {getattr(self, 'name', 'sasrec')!r} is causal only; "
                             "it cannot encode bidirectionally")
        B, L = items.shape
        if L > self.max_len:
            raise ValueError(f"sequence length {L} exceeds max_len={self.max_len}")
        # Left padding: the last item always sits at position max_len - 1, as with full padding, so a
        # batch trimmed to its longest sequence gives exactly the outputs of the fully padded batch.
        positions = torch.arange(self.max_len - L, self.max_len, device=items.device)
        x = self.item_embeddings(items) + self.position_embeddings(positions)[None]  # (B, L, H)
        x = self.embedding_dropout(self.embedding_norm(x))
        mask = attention_mask(items, causal=causal)  # (B, 1, L, L)
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, last_only and i == len(self.layers) - 1)
        return x  # (B, L, H), or (B, 1, H) with last_only

    def forward(self, items: torch.Tensor, *, causal: bool | None = None) -> torch.Tensor:
        return self.encode(items, causal=causal)


def sasrec(num_items: int, **kwargs: Any) -> Transformer:
    """SASRec: the causal preset of the Transformer (unidirectional in pre-training and fine-tuning)."""
    kwargs.setdefault("causal", True)
    kwargs.setdefault("allow_bidirectional", False)
    return Transformer(num_items, **kwargs)


sasrec.__signature__ = inspect.signature(Transformer)  # type: ignore[attr-defined]  # its options are the Transformer's
