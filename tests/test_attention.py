"""Attention implementations agree with the eager reference; masks never leave a query without keys."""
from __future__ import annotations

import math

import pytest
import torch

from ssrec.nn.attention import IMPLEMENTATIONS, attention, attention_mask
from tests.conftest import needs_cpp_compiler


def padded_items(seed: int = 0, B: int = 6, L: int = 12, N: int = 30) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    items = torch.randint(1, N + 1, (B, L), generator=g)
    lengths = torch.tensor([L, 1, 5, 0, 9, 3])[:B]  # includes an all-pad row and a length-1 row
    items[torch.arange(L)[None, :] < (L - lengths)[:, None]] = 0  # left padding
    return items


def loop_attention(q, k, v, mask):
    """Per-query softmax written with Python loops: an independent reference for eager."""
    B, Hh, L, d = q.shape
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(Hh):
            for i in range(L):
                keys = [j for j in range(L) if mask[b, 0, i, j]]
                s = torch.stack([q[b, h, i] @ k[b, h, j] / math.sqrt(d) for j in keys])
                p = torch.softmax(s, 0)
                out[b, h, i] = sum(p[n] * v[b, h, j] for n, j in enumerate(keys))
    return out


@pytest.mark.parametrize("causal", [False, True])
def test_mask_rules(causal):
    items = padded_items()
    m = attention_mask(items, causal=causal)[:, 0]  # (B, L, L)
    L = items.shape[1]
    assert m.diagonal(dim1=1, dim2=2).all(), "every query may attend to itself"
    assert m.any(-1).all(), "no fully masked row"
    off = ~torch.eye(L, dtype=torch.bool)
    pad_keys = (items == 0)[:, None, :].expand_as(m)
    assert not (m & pad_keys & off).any(), "PAD keys are masked (except self)"
    if causal:
        assert not (m & ~torch.ones(L, L, dtype=torch.bool).tril()).any(), "no attention to later positions"


@pytest.mark.parametrize("causal", [False, True])
def test_eager_matches_loop_reference(causal):
    g = torch.Generator().manual_seed(1)
    items = padded_items(B=3, L=6)
    q, k, v = (torch.randn(3, 2, 6, 4, generator=g) for _ in range(3))
    mask = attention_mask(items, causal=causal)
    torch.testing.assert_close(attention(q, k, v, mask, implementation="eager"), loop_attention(q, k, v, mask))


@pytest.mark.parametrize("implementation", [pytest.param(name, marks=needs_cpp_compiler) if name == "flex" else name
                                            for name in sorted(set(IMPLEMENTATIONS) - {"eager"})])
@pytest.mark.parametrize("causal", [False, True])
def test_parity_with_eager_on_padded_batches(implementation, causal):
    g = torch.Generator().manual_seed(2)
    items = padded_items(L=12)
    q, k, v = (torch.randn(6, 2, 12, 32, generator=g) for _ in range(3))
    mask = attention_mask(items, causal=causal)
    real = (items != 0)[:, None, :, None].expand_as(q)  # outputs at PAD positions are never read
    fused = attention(q, k, v, mask, implementation=implementation)
    eager = attention(q, k, v, mask, implementation="eager")
    assert torch.isfinite(fused).all()
    torch.testing.assert_close(fused[real], eager[real], rtol=1e-5, atol=1e-5)


def test_unknown_implementation_is_named():
    q = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="unknown attention implementation 'flash3'.*eager"):
        attention(q, q, q, torch.ones(1, 1, 2, 2, dtype=torch.bool), implementation="flash3")


@needs_cpp_compiler
def test_flex_matches_eager_for_a_last_position_query():
    """``summarize`` passes one query row (B, 1, 1, L) of the mask: the block mask must follow it."""
    g = torch.Generator().manual_seed(3)
    items = padded_items(L=12)
    q = torch.randn(6, 2, 1, 32, generator=g)
    k, v = (torch.randn(6, 2, 12, 32, generator=g) for _ in range(2))
    mask = attention_mask(items, causal=True)[..., -1:, :]  # (B, 1, 1, L)
    torch.testing.assert_close(attention(q, k, v, mask, implementation="flex"),
                               attention(q, k, v, mask, implementation="eager"), rtol=1e-5, atol=1e-5)


@needs_cpp_compiler
def test_flex_builds_a_new_block_mask_for_a_new_or_edited_mask():
    """The remembered block mask is reused only for the very same, unmodified mask tensor."""
    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(6, 2, 12, 32, generator=g) for _ in range(3))
    first = attention_mask(padded_items(seed=0), causal=True)
    second = attention_mask(padded_items(seed=0), causal=False)  # same shape, other content
    for mask in (first, second, first):
        torch.testing.assert_close(attention(q, k, v, mask, implementation="flex"),
                                   attention(q, k, v, mask, implementation="eager"), rtol=1e-5, atol=1e-5)
    first[:, :, :, 0] = True  # edited in place: the version counter changes
    torch.testing.assert_close(attention(q, k, v, first, implementation="flex"),
                               attention(q, k, v, first, implementation="eager"), rtol=1e-5, atol=1e-5)


def test_flex_refuses_attention_dropout():
    q = torch.zeros(1, 1, 2, 16)
    with pytest.raises(ValueError, match="'flex'.*no dropout.*dropout_p=0.5"):
        attention(q, q, q, torch.ones(1, 1, 2, 2, dtype=torch.bool), dropout_p=0.5, implementation="flex")


@needs_cpp_compiler
def test_transformer_evaluates_the_same_with_flex():
    """A whole encoder switched to ``flex`` gives the eager outputs at every real position, and its summary."""
    import ssrec

    torch.manual_seed(0)
    model = ssrec.create_backbone("transformer", num_items=30).eval()
    items = padded_items(L=12)
    real = items != 0
    with torch.no_grad():
        eager, eager_last = model.encode(items, causal=True), model.summarize(items, causal=True)
        model.set_attention("flex")
        flex, flex_last = model.encode(items, causal=True), model.summarize(items, causal=True)
    torch.testing.assert_close(flex[real], eager[real], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(flex_last, eager_last, rtol=1e-4, atol=1e-5)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2e-5), (torch.bfloat16, 3e-2)])
@pytest.mark.parametrize("implementation", sorted(set(IMPLEMENTATIONS) - {"eager"}))
@pytest.mark.parametrize("causal", [False, True])
def test_cuda_parity_with_eager_forward_and_backward(implementation, causal, dtype, tol):
    """On CUDA, outputs and gradients of q, k, v match eager (fp32 reference) at real positions."""
    g = torch.Generator().manual_seed(5)
    items = padded_items(L=12).cuda()
    base = [torch.randn(6, 2, 12, 32, generator=g).cuda() for _ in range(3)]
    mask = attention_mask(items, causal=causal)
    real = (items != 0)[:, None, :, None].expand(6, 2, 12, 32)
    grads = {}
    outputs = {}
    for name, tensors in (("eager", [t.clone().requires_grad_() for t in base]),
                          (implementation, [t.to(dtype).requires_grad_() for t in base])):
        out = attention(*tensors, mask, implementation=name)
        (out.float() * real).sum().backward()  # PAD outputs never read: no gradient flows from them
        outputs[name] = out.float()
        grads[name] = [t.grad.float() for t in tensors]
    assert torch.isfinite(outputs[implementation]).all()
    torch.testing.assert_close(outputs[implementation][real], outputs["eager"][real], rtol=tol, atol=tol)
    for fused, ref in zip(grads[implementation], grads["eager"]):
        torch.testing.assert_close(fused, ref, rtol=tol, atol=tol)


def test_a_backbone_refuses_an_unknown_implementation_when_built_or_switched():
    import ssrec

    with pytest.raises(ValueError, match="unknown attention implementation 'flash3'.*flex"):
        ssrec.create_backbone("transformer", num_items=10, attention="flash3")
    model = ssrec.create_backbone("sasrec", num_items=10)
    with pytest.raises(ValueError, match="unknown attention implementation 'Flex'"):
        model.set_attention("Flex")
    assert model.spec["attention"] == "auto"
