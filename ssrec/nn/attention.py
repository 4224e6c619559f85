"""Multi-head attention as one function with named implementations.

``eager`` is the reference and the specification; ``sdpa`` calls torch's fused kernels
(``scaled_dot_product_attention``); ``flex`` is torch's FlexAttention compiled into one kernel, with a
block mask that skips the fully masked tiles (the upper triangle under causal attention, left padding);
``auto`` picks by device: ``sdpa`` on accelerators and whenever no dropout is applied, ``eager`` for CPU
training with attention dropout, where torch's fused CPU kernel draws its dropout mask about three times
slower than ``ssrec.nn.dropout``. ``auto`` never picks ``flex``: where it beats ``sdpa`` (device, length)
has not been measured yet, so it is chosen by name.

FlexAttention has no dropout on the attention probabilities (its hooks act on scores before the softmax),
and S3-Rec trains with attention dropout 0.5: ``flex`` refuses ``dropout_p > 0`` rather than silently
training another model. Use it for evaluation (``model.eval()`` turns attention dropout off) or for models
built with ``attention_dropout=0``.

All take a boolean mask where True means "may attend"; masks built by ``attention_mask`` always let a
query attend to itself, so no row is ever fully masked and outputs at PAD positions (never read) stay
finite.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ssrec.nn.dropout import dropout

if TYPE_CHECKING:
    from torch.nn.attention.flex_attention import BlockMask

AttentionFn = Callable[..., torch.Tensor]


def attention_mask(items: torch.Tensor, *, causal: bool) -> torch.Tensor:
    """Boolean mask (B, 1, L, L) for left-padded ``items`` (B, L): key padding, optionally causal, self always
    allowed."""
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


def block_mask_from(mask: torch.Tensor, batch: int, query_len: int, key_len: int) -> BlockMask:
    """FlexAttention's block mask equal to the boolean ``mask`` (broadcastable to (batch, 1, Lq, Lk)).

    The last mask converted is remembered (with its block mask, which holds it anyway): the layers of one
    forward pass share one mask object, so the block mask is built once per pass, not once per layer. An
    in-place edit of the mask changes its version counter and rebuilds it.
    """
    from torch.nn.attention.flex_attention import create_block_mask

    key = (batch, query_len, key_len, mask._version)
    cached = _LAST_BLOCK_MASK.get("entry")
    if cached is not None and cached[0] is mask and cached[1] == key:
        return cached[2]
    dense = mask.expand(batch, 1, query_len, key_len)  # (B, 1, Lq, Lk)

    def allowed(b: torch.Tensor, h: torch.Tensor, q_idx: torch.Tensor, kv_idx: torch.Tensor) -> torch.Tensor:
        return dense[b, 0, q_idx, kv_idx]

    block_mask = create_block_mask(allowed, batch, None, query_len, key_len, device=mask.device)
    _LAST_BLOCK_MASK["entry"] = (mask, key, block_mask)
    return block_mask


_LAST_BLOCK_MASK: dict[str, tuple] = {}


@functools.cache
def _compiled_flex(device_type: str) -> Callable[..., torch.Tensor]:
    """FlexAttention compiled for one device type: shapes static on CPU, automatic dynamic elsewhere.

    On CPU, inductor's flex kernel (torch 2.13) fails to build once the batch size becomes symbolic
    ("'cur_kvSplitSize5' was not declared"), so every new CPU shape compiles anew.
    """
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False if device_type == "cpu" else None)


def flex_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
                   dropout_p: float = 0.0) -> torch.Tensor:
    """Compiled FlexAttention with a block mask equal to ``mask``; same contract as ``eager_attention``.

    Raises ``ValueError`` for ``dropout_p > 0``: FlexAttention cannot drop attention probabilities.
    """
    if dropout_p > 0.0:
        raise ValueError(f"the 'flex' attention implementation has no dropout on attention probabilities "
                         f"(dropout_p={dropout_p}); train with 'eager', 'sdpa' or 'auto', use 'flex' for "
                         "evaluation, or build the model with attention_dropout=0")
    block_mask = block_mask_from(mask, q.shape[0], q.shape[-2], k.shape[-2])
    return _compiled_flex(q.device.type)(q, k, v, block_mask=block_mask)  # (B, heads, Lq, d)


def auto_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
                   dropout_p: float = 0.0) -> torch.Tensor:
    """``sdpa`` on accelerators and without dropout; ``eager`` for CPU training with attention dropout."""
    if q.device.type == "cpu" and dropout_p > 0.0:
        return eager_attention(q, k, v, mask, dropout_p=dropout_p)
    return sdpa_attention(q, k, v, mask, dropout_p=dropout_p)


IMPLEMENTATIONS: dict[str, AttentionFn] = {"eager": eager_attention, "sdpa": sdpa_attention, "flex": flex_attention,
                                           "auto": auto_attention}


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, *,
              dropout_p: float = 0.0, implementation: str = "auto") -> torch.Tensor:
    """Dispatch to a named implementation (see ``IMPLEMENTATIONS``). ``dropout_p`` must be 0 at eval time."""
    return IMPLEMENTATIONS[check_implementation(implementation)](q, k, v, mask, dropout_p=dropout_p)


def check_implementation(implementation: str) -> str:
    """``implementation`` if it names one of ``IMPLEMENTATIONS``, else a ``ValueError`` listing them."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown attention implementation {implementation!r}; "
                         f"available: {', '.join(sorted(IMPLEMENTATIONS))}")
    return implementation
