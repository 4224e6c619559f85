"""A direct re-implementation of the S3-Rec authors' release (modules.py, models.py, datasets.py), with
their parameter names, kept in the tests as an independent reference for ssrec: the Transformer's forward
pass, the pre-training losses (``ReleasedS3Rec.pretrain``) and the Python pre-training data loader
(``ReleasedPretrainDataset``), which ``benchmarks/pretrain_speed.py`` also times as the baseline.

Differences from ssrec are deliberate and documented there: the release adds -10000 to masked scores
(ssrec uses -inf and lets every query attend to itself); the two agree at every real query position.
"""
from __future__ import annotations

import math
import random

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
    def __init__(self, hidden: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.size = heads, hidden // heads
        self.query, self.key = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = LayerNorm(hidden)
        self.attn_dropout, self.out_dropout = nn.Dropout(dropout), nn.Dropout(dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.heads, self.size).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.size) + mask
        context = (self.attn_dropout(torch.softmax(scores, -1)) @ v).permute(0, 2, 1, 3).contiguous()
        context = context.view(*context.shape[:-2], self.heads * self.size)
        return self.LayerNorm(self.out_dropout(self.dense(context)) + x)


class Intermediate(nn.Module):
    def __init__(self, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dense_1, self.dense_2 = nn.Linear(hidden, hidden * 4), nn.Linear(hidden * 4, hidden)
        self.LayerNorm = LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense_2(gelu(self.dense_1(x)))) + x)


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.attention, self.intermediate = SelfAttention(hidden, heads, dropout), Intermediate(hidden, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.intermediate(self.attention(x, mask))


class Encoder(nn.Module):
    def __init__(self, hidden: int, heads: int, layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(hidden, heads, dropout) for _ in range(layers))


class ReleasedS3Rec(nn.Module):
    """The release's S3RecModel, names as in its state dict (``dropout=0.5`` for its training; 0 by default)."""

    def __init__(self, num_items: int, num_attributes: int, hidden: int = 64, heads: int = 2, layers: int = 2,
                 max_len: int = 50, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden, self.num_attributes, self.mask_id = hidden, num_attributes, num_items + 1
        self.item_embeddings = nn.Embedding(num_items + 2, hidden, padding_idx=0)
        self.attribute_embeddings = nn.Embedding(num_attributes, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_len, hidden)
        self.item_encoder = Encoder(hidden, heads, layers, dropout)
        self.LayerNorm = LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.aap_norm, self.mip_norm = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.map_norm, self.sp_norm = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.criterion = nn.BCELoss(reduction="none")

    def forward(self, sequence: torch.Tensor, causal: bool) -> torch.Tensor:
        """The release pads every input to max_len, so positions are always 0..max_len-1."""
        positions = torch.arange(sequence.size(1), device=sequence.device)
        x = self.dropout(self.LayerNorm(self.item_embeddings(sequence) + self.position_embeddings(positions)[None]))
        keep = (sequence > 0).long()[:, None, None, :]  # (B, 1, 1, L)
        if causal:
            keep = keep * (torch.triu(torch.ones(sequence.size(1), sequence.size(1)), diagonal=1) == 0).long()
        mask = (1.0 - keep.float()) * -10000.0
        for layer in self.item_encoder.layer:
            x = layer(x, mask)
        return x


    def _encode_pretrain(self, sequence: torch.Tensor) -> torch.Tensor:
        """The release's pre-training pass: key padding only, additive -1e8."""
        positions = torch.arange(sequence.size(1), device=sequence.device)
        x = self.dropout(self.LayerNorm(self.item_embeddings(sequence) + self.position_embeddings(positions)[None]))
        mask = ((sequence == 0).float() * -1e8)[:, None, None, :]
        for layer in self.item_encoder.layer:
            x = layer(x, mask)
        return x

    def _attribute_scores(self, norm: nn.Linear, out: torch.Tensor) -> torch.Tensor:
        out = norm(out).view([-1, self.hidden, 1])  # [B*L H 1]
        return torch.sigmoid(torch.matmul(self.attribute_embeddings.weight, out).squeeze(-1))  # [B*L A]

    def _item_scores(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = self.mip_norm(out.view([-1, self.hidden]))
        return torch.sigmoid(torch.sum(out * target.view([-1, self.hidden]), -1))

    def _segment_scores(self, context: torch.Tensor, segment: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.sum(self.sp_norm(context) * segment, dim=-1))

    def pretrain(self, attributes, masked_item_sequence, pos_items, neg_items, masked_segment_sequence,
                 pos_segment, neg_segment):
        """The release's S3RecModel.pretrain: (aap, mip, map, sp) losses, each summed."""
        out = self._encode_pretrain(masked_item_sequence)
        targets = attributes.view(-1, self.num_attributes).float()
        aap = self.criterion(self._attribute_scores(self.aap_norm, out), targets)
        aap_mask = (masked_item_sequence != self.mask_id).float() * (masked_item_sequence != 0).float()
        aap_loss = torch.sum(aap * aap_mask.flatten().unsqueeze(-1))
        distance = torch.sigmoid(self._item_scores(out, self.item_embeddings(pos_items))
                                 - self._item_scores(out, self.item_embeddings(neg_items)))
        mip_mask = (masked_item_sequence == self.mask_id).float()
        mip_loss = torch.sum(self.criterion(distance, torch.ones_like(distance)) * mip_mask.flatten())
        map_ = self.criterion(self._attribute_scores(self.map_norm, out), targets)
        map_loss = torch.sum(map_ * mip_mask.flatten().unsqueeze(-1))
        context = self._encode_pretrain(masked_segment_sequence)[:, -1, :]
        pos = self._encode_pretrain(pos_segment)[:, -1, :]
        neg = self._encode_pretrain(neg_segment)[:, -1, :]
        sp_distance = torch.sigmoid(self._segment_scores(context, pos) - self._segment_scores(context, neg))
        sp_loss = torch.sum(self.criterion(sp_distance, torch.ones_like(sp_distance)))
        return aap_loss, mip_loss, map_loss, sp_loss


def neg_sample(item_set: set[int], item_size: int) -> int:
    """The release's sampler: uniform in 1..item_size-1 = 1..N+1 (it can return MASK), outside item_set."""
    item = random.randint(1, item_size - 1)
    while item in item_set:
        item = random.randint(1, item_size - 1)
    return item


class ReleasedPretrainDataset(torch.utils.data.Dataset):
    """The release's PretrainDataset: Python lists per sample, rebuilt by __getitem__ at every access."""

    def __init__(self, user_seq: list[list[int]], long_sequence: list[int], num_items: int,
                 item2attribute: dict[str, list[int]], attribute_size: int, max_len: int = 50,
                 mask_p: float = 0.2) -> None:
        self.long_sequence, self.max_len, self.mask_p = long_sequence, max_len, mask_p
        self.item_size, self.mask_id = num_items + 2, num_items + 1
        self.item2attribute, self.attribute_size = item2attribute, attribute_size
        self.part_sequence = []
        for seq in user_seq:
            input_ids = seq[-(max_len + 2):-2]
            for i in range(len(input_ids)):
                self.part_sequence.append(input_ids[: i + 1])

    def __len__(self) -> int:
        return len(self.part_sequence)

    def __getitem__(self, index: int):
        sequence = self.part_sequence[index]
        masked_item_sequence, neg_items = [], []
        item_set = set(sequence)
        for item in sequence[:-1]:
            if random.random() < self.mask_p:
                masked_item_sequence.append(self.mask_id)
                neg_items.append(neg_sample(item_set, self.item_size))
            else:
                masked_item_sequence.append(item)
                neg_items.append(item)
        masked_item_sequence.append(self.mask_id)
        neg_items.append(neg_sample(item_set, self.item_size))
        if len(sequence) < 2:
            masked_segment_sequence, pos_segment, neg_segment = sequence, sequence, sequence
        else:
            sample_length = random.randint(1, len(sequence) // 2)
            start_id = random.randint(0, len(sequence) - sample_length)
            neg_start_id = random.randint(0, len(self.long_sequence) - sample_length)
            pos_segment = sequence[start_id: start_id + sample_length]
            neg_segment = self.long_sequence[neg_start_id:neg_start_id + sample_length]
            masked_segment_sequence = (sequence[:start_id] + [self.mask_id] * sample_length
                                       + sequence[start_id + sample_length:])
            before, after = [self.mask_id] * start_id, [self.mask_id] * (len(sequence) - (start_id + sample_length))
            pos_segment, neg_segment = before + pos_segment + after, before + neg_segment + after
        pad = self.max_len - len(sequence)
        masked_item_sequence = ([0] * pad + masked_item_sequence)[-self.max_len:]
        pos_items = ([0] * pad + sequence)[-self.max_len:]
        neg_items = ([0] * pad + neg_items)[-self.max_len:]
        masked_segment_sequence = ([0] * pad + masked_segment_sequence)[-self.max_len:]
        pos_segment = ([0] * pad + pos_segment)[-self.max_len:]
        neg_segment = ([0] * pad + neg_segment)[-self.max_len:]
        attributes = []
        for item in pos_items:
            attribute = [0] * self.attribute_size
            for a in self.item2attribute.get(str(item), []):
                attribute[a] = 1
            attributes.append(attribute)
        return tuple(torch.tensor(x, dtype=torch.long) for x in (
            attributes, masked_item_sequence, pos_items, neg_items, masked_segment_sequence, pos_segment, neg_segment))


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
