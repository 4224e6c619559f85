"""The Transformer backbone: the released forward pass, causality, padding invariance, presets."""
from __future__ import annotations

import pytest
import torch

from ssrec.backbones.transformer import Transformer, sasrec
from tests.released_s3rec import ReleasedS3Rec, released_name

N = 40


def batch(seed: int = 0, B: int = 5, L: int = 10) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    items = torch.randint(1, N + 1, (B, L), generator=g)
    lengths = torch.tensor([L, 2, 7, 1, 4])[:B]
    items[torch.arange(L)[None, :] < (L - lengths)[:, None]] = 0
    return items


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_released_forward(attention, causal):
    torch.manual_seed(0)
    model = Transformer(N, max_len=10, attention=attention).eval()
    reference = ReleasedS3Rec(N, num_attributes=5, max_len=10).eval()
    reference.load_state_dict({released_name(k): v for k, v in model.state_dict().items()}, strict=False)
    items = batch()
    real = items != 0
    with torch.no_grad():
        ours, theirs = model.encode(items, causal=causal), reference(items, causal=causal)
    torch.testing.assert_close(ours[real], theirs[real], rtol=1e-5, atol=1e-5)


def test_causal_outputs_never_depend_on_later_items():
    torch.manual_seed(1)
    model = Transformer(N, max_len=10).eval()
    items = batch(B=5, L=10)
    with torch.no_grad():
        base = model.encode(items, causal=True)
        for t in range(10):
            changed = items.clone()
            changed[:, t] = torch.where(changed[:, t] > 0, changed[:, t] % N + 1, 0)
            out = model.encode(changed, causal=True)
            torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=0)
            rows = items[:, t] > 0
            assert not torch.allclose(out[rows, t], base[rows, t]), "the changed position itself must change"


def test_bidirectional_outputs_do_see_later_items():
    torch.manual_seed(2)
    model = Transformer(N, max_len=10).eval()
    items = batch()
    changed = items.clone()
    changed[0, -1] = changed[0, -1] % N + 1
    with torch.no_grad():
        assert not torch.allclose(model.encode(items)[0, 0], model.encode(changed)[0, 0])


@pytest.mark.parametrize("causal", [False, True])
def test_trimmed_batch_equals_fully_padded_batch(causal):
    torch.manual_seed(3)
    model = Transformer(N, max_len=12).eval()
    items = batch(L=10)
    items = items[1:]  # longest remaining row has 7 items: 3 leading all-PAD columns
    padded = torch.cat([torch.zeros(len(items), 2, dtype=torch.long), items], 1)  # (B, 12)
    trimmed = items[:, 3:]
    with torch.no_grad():
        full_out = model.encode(padded, causal=causal)[:, -trimmed.shape[1]:]
        trim_out = model.encode(trimmed, causal=causal)
    real = trimmed != 0
    torch.testing.assert_close(trim_out[real], full_out[real], rtol=1e-5, atol=1e-5)


def test_initialisation_as_released():
    torch.manual_seed(4)
    model = Transformer(2000, hidden_size=64, max_len=50)
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            assert (p == 0).all(), name
        elif "norm" in name:
            assert (p == 1).all(), name
        else:
            assert abs(float(p.detach().std()) - 0.02) < 0.003, name


def test_sasrec_preset_is_causal_only():
    model = sasrec(N, max_len=10)
    assert model.default_causal and "bidirectional" not in model.capabilities
    with pytest.raises(ValueError, match="causal only"):
        model.encode(batch(), causal=False)
    torch.testing.assert_close(model.eval().encode(batch()), model.encode(batch(), causal=True))


def test_too_long_input_is_refused():
    with pytest.raises(ValueError, match="exceeds max_len=10"):
        Transformer(N, max_len=10).encode(torch.ones(1, 11, dtype=torch.long))


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_summarize_equals_the_last_position_of_encode(causal, implementation):
    torch.manual_seed(0)
    model = Transformer(30, max_len=12, attention=implementation).eval()
    items = torch.randint(1, 31, (6, 9))
    items[:3, :4] = 0  # left padding
    full = model.encode(items, causal=causal)[:, -1]
    assert torch.allclose(model.summarize(items, causal=causal), full, atol=1e-6)
