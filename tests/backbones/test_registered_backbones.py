"""Every registered backbone honours the encoder contract (a new backbone is tested by these tests)."""
from __future__ import annotations

import pytest
import torch

import ssrec
from ssrec.checkpoint import load_checkpoint, rebuild_backbone, save_checkpoint
from ssrec.contracts import BIDIRECTIONAL, CAUSAL, KNOWN_CAPABILITIES, Encoder

N, L = 30, 8


def items(B=4):
    x = torch.randint(1, N + 1, (B, L), generator=torch.Generator().manual_seed(0))
    x[1, :5] = 0
    x[2, :7] = 0
    return x


@pytest.fixture(params=ssrec.list_backbones())
def backbone(request):
    torch.manual_seed(0)
    return ssrec.create_backbone(request.param, num_items=N, max_len=L)


def test_satisfies_the_contract(backbone):
    assert isinstance(backbone, Encoder)
    assert backbone.capabilities <= KNOWN_CAPABILITIES
    assert backbone.item_embeddings.weight.shape == (N + 2, backbone.hidden_size)
    out = backbone.eval().encode(items())
    assert out.shape == (4, L, backbone.hidden_size) and torch.isfinite(out).all()


def test_gradients_reach_every_parameter(backbone):
    backbone.train()
    x = items()
    x[:, 0] = 1  # every position is real, so every position embedding is used
    backbone.encode(x).sum().backward()
    missing = [n for n, p in backbone.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


def test_declared_modes_match_behaviour(backbone):
    backbone.eval()
    x = items()
    changed = x.clone()
    changed[:, -1] = changed[:, -1] % N + 1
    if CAUSAL in backbone.capabilities:
        torch.testing.assert_close(backbone.encode(changed, causal=True)[:, :-1],
                                   backbone.encode(x, causal=True)[:, :-1], rtol=0, atol=0)
    if BIDIRECTIONAL in backbone.capabilities:
        assert not torch.allclose(backbone.encode(changed, causal=False)[0, 0], backbone.encode(x, causal=False)[0, 0])
    else:
        with pytest.raises(ValueError):
            backbone.encode(x, causal=False)


def test_checkpoint_round_trip(backbone, tmp_path):
    save_checkpoint(tmp_path / "b.pt", backbone, kind="finetuned")
    rebuilt = rebuild_backbone(load_checkpoint(tmp_path / "b.pt")).eval()
    torch.testing.assert_close(rebuilt.encode(items()), backbone.eval().encode(items()), rtol=0, atol=0)


def test_outputs_do_not_depend_on_the_width_of_left_padding(backbone):
    """Batches are trimmed to their longest row: extra leading PAD columns must change no real output."""
    backbone.eval()
    x = items()
    narrow = x[:, 2:]
    padded = torch.nn.functional.pad(narrow, (2, 0))
    mode = None if CAUSAL not in backbone.capabilities else True
    real = narrow != 0
    torch.testing.assert_close(backbone.encode(padded, causal=mode)[:, 2:][real],
                               backbone.encode(narrow, causal=mode)[real], rtol=0, atol=1e-5)


def test_sequence_summary_is_the_last_output(backbone):
    from ssrec.contracts import sequence_summary

    backbone.eval()
    mode = True if CAUSAL in backbone.capabilities else None
    torch.testing.assert_close(sequence_summary(backbone, items(), causal=mode),
                               backbone.encode(items(), causal=mode)[:, -1], rtol=0, atol=1e-5)
