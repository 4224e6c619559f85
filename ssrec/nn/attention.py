"""Multi-head attention as one function with named implementations.

``eager`` is the reference and the specification; ``sdpa`` calls torch's fused kernels
(``scaled_dot_product_attention``); ``auto`` picks by device: ``sdpa`` on accelerators and whenever no
dropout is applied, ``eager`` for CPU training with attention dropout, where torch's fused CPU kernel
draws its dropout mask about three times slower than ``ssrec.nn.dropout``. All take a boolean mask where
True means "may attend"; masks built by ``attention_mask`` always let a query attend to itself, so no
row is ever fully masked and outputs at PAD positions (never read) stay finite.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ssrec.nn.dropout import dropout

AttentionFn = Callable[..., torch.Tensor]


def attention_mask(items: torch.Tensor, *, causal: bool) -> torch.Tensor:
    """Boolean mask (B, 1, L, L) for left-padded ``items`` (B, L): key padding, optionally causal, self always allowed."""
    B, L = items.shape
    allowed = (items != 0)[:, None, None, :].expand(B, 1, L, L)  # (B, 1, L, L): key is a real item
    if causal:
        allowed = allowed & torch.ones(L, L, dtype=torch.bool, device=items.device).tril()
    return allowed | torch.eye(L, dtype=torch.bool, device=items.device)


def eager_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
                    dropout_p: float = 0.0) -> torch.Tensor:
    """Reference attention: softmax(q k^T / sqrt(d) with masked scores at -inf) v, dropout on the probabilities.

    q, k, v: (B, heads, L, d); mask: bool, broadcastable to (B, heads, L, L). Returns (B, heads, L, d).
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, heads, L, L)
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    probs = dropout(probs, dropout_p)
    return probs @ v  # (B, heads, L, d)


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
                   dropout_p: float = 0.0) -> torch.Tensor:
    """Torch's fused scaled-dot-product attention; same contract as ``eager_attention``."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


def auto_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
                   dropout_p: float = 0.0) -> torch.Tensor:
    """``sdpa`` on accelerators and without dropout; ``eager`` for CPU training with attention dropout."""
    if q.device.type == "cpu" and dropout_p > 0.0:
        return eager_attention(q, k, v, mask, dropout_p=dropout_p)
    return sdpa_attention(q, k, v, mask, dropout_p=dropout_p)


IMPLEMENTATIONS: dict[str, AttentionFn] = {"eager": eager_attention, "sdpa": sdpa_attention, "auto": auto_attention}


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
              dropout_p: float = 0.0, implementation: str = "auto") -> torch.Tensor:
    """Dispatch to a named implementation (see ``IMPLEMENTATIONS``). ``dropout_p`` must be 0 at eval time."""
    try:
        fn = IMPLEMENTATIONS[implementation]
    except KeyError:
        raise ValueError(f"unknown attention implementation {implementation!r}; "
                         f"available: {', '.join(sorted(IMPLEMENTATIONS))}") from None
    return fn(q, k, v, mask, dropout_p=dropout_p)
