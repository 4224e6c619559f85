"""The contrastive plugin: the ssrec objective contract (from ssrec's own kit), the augmentations'
invariants, and the loss against InfoNCE written out row by row."""
from __future__ import annotations

import math

import pytest
import torch

import ssrec
from ssrec.testing import ObjectiveContract
from ssrec_contrastive import augment, crop, info_nce, mask, reorder


class TestContrastiveContract(ObjectiveContract):
    objective_name = "contrastive"


class TestContrastiveOnCaser(ObjectiveContract):
    """Only a sequence summary is needed, so even Caser (no per-position output) can be pre-trained."""
    objective_name = "contrastive"
    backbone_name = "caser"


def _batch(seed: int = 0, B: int = 64, L: int = 12, mask_id: int = 31) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    items = torch.randint(1, mask_id, (B, L), generator=g)
    n = torch.randint(1, L + 1, (B,), generator=g)
    return torch.where(torch.arange(L)[None, :] >= (L - n)[:, None], items, 0)  # left-padded, lengths 1..L


def _rows(x: torch.Tensor) -> list[list[int]]:
    return [[int(v) for v in row if v != 0] for row in x]


def test_the_plugin_is_registered_through_its_entry_point():
    assert "contrastive" in ssrec.list_objectives()
    assert ssrec.create_objective("contrastive", temperature=0.5).temperature == 0.5


def test_crop_keeps_a_contiguous_share_left_padded():
    items = _batch()
    out = crop(items, 0.6, torch.Generator().manual_seed(1))
    for before, after in zip(_rows(items), _rows(out)):
        k = max(1, math.floor(0.6 * len(before)))
        assert len(after) == k and any(before[s:s + k] == after for s in range(len(before) - k + 1))
    assert torch.equal((out != 0).cumsum(1) > 0, out != 0), "padding stays on the left"


def test_mask_only_masks_real_items_at_about_the_ratio():
    items = _batch(B=2000)
    out = mask(items, 0.3, 31, torch.Generator().manual_seed(2))
    assert torch.equal(out == 0, items == 0)
    changed = out != items
    assert torch.all(out[changed] == 31)
    assert abs(changed.sum().item() / (items != 0).sum().item() - 0.3) < 0.02


def test_reorder_shuffles_one_contiguous_segment_and_nothing_else():
    items = _batch(B=500)
    out = reorder(items, 0.6, torch.Generator().manual_seed(3))
    moved = 0
    for before, after in zip(_rows(items), _rows(out)):
        assert sorted(before) == sorted(after) and len(before) == len(after)
        k = max(1, math.floor(0.6 * len(before)))
        diff = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
        if diff:
            assert diff[-1] - diff[0] < k, "changes stay inside one segment of the reorder length"
            moved += 1
    assert moved > 100, "segments really get shuffled"


def test_augment_gives_each_row_one_of_the_three_and_never_touches_the_input():
    items = _batch(B=300)
    copy = items.clone()
    view = augment(items, crop_ratio=0.6, mask_ratio=0.3, reorder_ratio=0.6, mask_id=31,
                   generator=torch.Generator().manual_seed(4))
    assert torch.equal(items, copy)
    kinds = {"crop": 0, "mask": 0, "reorder": 0}
    for before, after in zip(_rows(items), _rows(view)):
        if len(after) < len(before):
            kinds["crop"] += 1
        elif 31 in after:
            kinds["mask"] += 1
        elif after != before:
            kinds["reorder"] += 1
    assert all(count > 40 for count in kinds.values()), kinds


@pytest.mark.parametrize("similarity", ["dot", "cos"])
def test_info_nce_matches_the_formula_row_by_row(similarity):
    g = torch.Generator().manual_seed(5)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    z = torch.cat([z1, z2])
    if similarity == "cos":
        z = z / z.norm(dim=1, keepdim=True)
    t, B, total = 0.7, 6, 0.0
    for i in range(2 * B):
        positive = (i + B) % (2 * B)
        scores = [float(z[i] @ z[k]) / t for k in range(2 * B) if k != i]
        total += -(float(z[i] @ z[positive]) / t - math.log(sum(math.exp(s) for s in scores)))
    assert info_nce(z1, z2, t, similarity).item() == pytest.approx(total / (2 * B), rel=1e-5)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="contrastive: crop_ratio must be in"):
        ssrec.create_objective("contrastive", crop_ratio=0)
    with pytest.raises(ValueError, match="similarity must be 'dot' or 'cos'"):
        ssrec.create_objective("contrastive", similarity="l2")
