"""Corruption statistics over many samples: mask rate, the forced last mask, negatives, segments."""
from __future__ import annotations

import math

import torch

from ssrec.data.corruption import mask_items, sample_excluding, segment_views

MASK = 101


def left_padded_rows(lengths: list[int], width: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rows = torch.zeros(len(lengths), width, dtype=torch.long)
    for r, n in enumerate(lengths):
        rows[r, width - n:] = torch.randint(1, 101, (n,), generator=g)
    return rows


def test_mask_rate_forced_last_and_pads_untouched():
    items = left_padded_rows([1, 2, 5, 20, 50] * 400, 50)
    view = mask_items(items, MASK, 0.2, torch.Generator().manual_seed(1))
    real = items != 0
    assert view.masked[:, -1].all()  # the last item of every sample, always
    assert not (view.masked & ~real).any()  # PAD never masked
    assert torch.equal(view.items, torch.where(view.masked, MASK, items))
    others = real.clone()
    others[:, -1] = False
    rate = view.masked[others].float().mean().item()
    n = int(others.sum())
    assert abs(rate - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n), rate


def test_mask_is_deterministic_under_a_seed():
    items = left_padded_rows([3, 7, 12] * 50, 12)
    a = mask_items(items, MASK, 0.2, torch.Generator().manual_seed(5))
    b = mask_items(items, MASK, 0.2, torch.Generator().manual_seed(5))
    c = mask_items(items, MASK, 0.2, torch.Generator().manual_seed(6))
    assert torch.equal(a.masked, b.masked) and torch.equal(a.items, b.items)
    assert not torch.equal(a.masked, c.masked)


def test_negatives_never_in_the_sample_and_cover_the_rest_uniformly():
    num_items = 20
    forbidden = torch.tensor([[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] * 4000)  # items 1..10 are the sample
    out = sample_excluding(forbidden, 3, num_items, torch.Generator().manual_seed(0))
    assert out.shape == (4000, 3)
    assert ((out >= 11) & (out <= 20)).all()  # never a sample item, never PAD or MASK
    counts = torch.bincount(out.flatten(), minlength=21)[11:].float()
    expected = out.numel() / 10
    assert ((counts - expected).abs() < 5 * math.sqrt(expected)).all(), counts


def test_negatives_with_a_nearly_full_sample_still_terminate():
    forbidden = torch.arange(1, 20)[None, :].repeat(50, 1)  # all but item 20
    out = sample_excluding(forbidden, 2, 20, torch.Generator().manual_seed(0))
    assert (out == 20).all()


def test_segment_lengths_and_starts_are_uniform_and_views_are_consistent():
    width = 10
    lengths = [1, 2, 3, 9, 10] * 2000
    items = left_padded_rows(lengths, width)
    all_items = torch.arange(1, 1001)  # distinct values: a negative window is identifiable by its values
    views = segment_views(items, all_items, MASK, torch.Generator().manual_seed(3))
    real = items != 0
    n = torch.tensor(lengths)
    seg = views.segment
    seg_len = seg.sum(1)
    short = n < 2
    assert (seg_len[short] == 0).all()
    for view in (views.context, views.positive, views.negative):  # short rows: the unmasked sequence
        assert torch.equal(view[short], items[short])
    long = ~short
    assert ((seg_len[long] >= 1) & (seg_len[long] <= n[long] // 2)).all()
    # contiguous segment inside the real part
    assert not (seg & ~real).any()
    first = torch.where(seg.any(1), seg.float().argmax(1), 0)
    span = torch.arange(width)[None, :]
    assert torch.equal(seg[long], ((span >= first[:, None]) & (span < (first + seg_len)[:, None]))[long])
    # segment length uniform over 1..floor(len/2): for len 9 that is 1..4
    nine = n == 9
    counts = torch.bincount(seg_len[nine], minlength=5)[1:].float()
    assert ((counts - counts.mean()).abs() < 5 * counts.mean().sqrt()).all(), counts
    # start uniform over 0..len-seg_len, for len 10 and segment length 1: 10 starts
    ten1 = (n == 10) & (seg_len == 1)
    starts = (first - (width - n))[ten1]
    assert set(starts.tolist()) == set(range(10))
    # the views
    assert torch.equal(views.context, torch.where(seg, MASK, items))
    outside_real = real & ~seg
    assert (views.positive[long][outside_real[long]] == MASK).all()
    assert torch.equal(views.positive[seg], items[seg])
    assert (views.negative[long][outside_real[long]] == MASK).all()
    assert ((views.positive == 0) == ~real).all() and ((views.negative == 0) == ~real).all()
    # negative segment: consecutive values of all_items (a window of the concatenation)
    for r in torch.nonzero(long & (seg_len >= 2))[:200, 0]:
        window = views.negative[r][seg[r]]
        assert torch.equal(window, torch.arange(int(window[0]), int(window[0]) + len(window)))

