"""A direct re-implementation of the S3-Rec authors' released forward pass (modules.py / models.py),
with their parameter names, kept in the tests as an independent reference for ssrec's Transformer.

Differences from ssrec are deliberate and documented there: the release adds -10000 to masked scores
(ssrec uses -inf and lets every query attend to itself); the two agree at every real query position.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def gelu(x: torch.Tensor) -> torch.Tensor:
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class LayerNorm(nn.Module):
    def __init__(self, hidden: int, eps: float = 1e-12) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - u) / torch.sqrt(s + self.eps)) + self.bias


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads, self.size = heads, hidden // heads
        self.query, self.key, self.value = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = LayerNorm(hidden)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.heads, self.size).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.size) + mask
        context = (torch.softmax(scores, -1) @ v).permute(0, 2, 1, 3).contiguous()
        context = context.view(*context.shape[:-2], self.heads * self.size)
        return self.LayerNorm(self.dense(context) + x)


class Intermediate(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.dense_1, self.dense_2 = nn.Linear(hidden, hidden * 4), nn.Linear(hidden * 4, hidden)
        self.LayerNorm = LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense_2(gelu(self.dense_1(x))) + x)


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.attention, self.intermediate = SelfAttention(hidden, heads), Intermediate(hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.intermediate(self.attention(x, mask))


class Encoder(nn.Module):
    def __init__(self, hidden: int, heads: int, layers: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(hidden, heads) for _ in range(layers))


class ReleasedS3Rec(nn.Module):
    """The release's S3RecModel encoder (eval mode; dropout omitted), names as in its state dict."""

    def __init__(self, num_items: int, num_attributes: int, hidden: int = 64, heads: int = 2, layers: int = 2,
                 max_len: int = 50) -> None:
        super().__init__()
        self.item_embeddings = nn.Embedding(num_items + 2, hidden, padding_idx=0)
        self.attribute_embeddings = nn.Embedding(num_attributes, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_len, hidden)
        self.item_encoder = Encoder(hidden, heads, layers)
        self.LayerNorm = LayerNorm(hidden)
        self.aap_norm, self.mip_norm = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.map_norm, self.sp_norm = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)

    def forward(self, sequence: torch.Tensor, causal: bool) -> torch.Tensor:
        """The release pads every input to max_len, so positions are always 0..max_len-1."""
        positions = torch.arange(sequence.size(1), device=sequence.device)
        x = self.LayerNorm(self.item_embeddings(sequence) + self.position_embeddings(positions)[None])
        keep = (sequence > 0).long()[:, None, None, :]  # (B, 1, 1, L)
        if causal:
            keep = keep * (torch.triu(torch.ones(sequence.size(1), sequence.size(1)), diagonal=1) == 0).long()
        mask = (1.0 - keep.float()) * -10000.0
        for layer in self.item_encoder.layer:
            x = layer(x, mask)
        return x


#: ssrec Transformer parameter name -> released parameter name (per layer i).
def released_name(name: str) -> str:
    fixed = {"embedding_norm.weight": "LayerNorm.weight", "embedding_norm.bias": "LayerNorm.bias"}
    if name in fixed:
        return fixed[name]
    if not name.startswith("layers."):
        return name
    _, i, block, part, kind = name.split(".")
    part = {"output": "dense", "norm": "LayerNorm", "up": "dense_1", "down": "dense_2"}.get(part, part)
    block = {"feed_forward": "intermediate"}.get(block, block)
    return f"item_encoder.layer.{i}.{block}.{part}.{kind}"
