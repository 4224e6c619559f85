"""Cross-entropy over a whole catalogue without its (T, N) logits in memory: the full-softmax loss, chunked.

``linear_cross_entropy(h, table, targets)`` is ``F.cross_entropy(h @ table.T, targets)`` (mean over the T
rows). It walks the rows in chunks: each chunk's logits are computed, turned into its loss and into its
gradient (softmax minus the one-hot target) while they are still in cache, and the gradients of ``h`` and
``table`` are accumulated from it at once. Memory is one chunk of logits instead of T x N (Beauty: 2,000
targets x 12,101 items = 97 MB per batch, written and re-read by log_softmax, its backward and two
products), and no logit is computed twice. The gradients are those of the loss with unit weight; the
backward pass scales them by the incoming gradient (a scalar), so weighting the loss stays exact.

Under autocast (bf16) the two factors are cast to bf16 for the products; the softmax, the loss and the
table's gradient accumulate in fp32.
"""
from __future__ import annotations

from typing import Any

import torch

#: logits held at once per chunk (4 MiB of fp32): small enough to stay in cache between the product and the softmax
CHUNK_LOGITS = 1 << 20


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor,
                compute_dtype: torch.dtype) -> torch.Tensor:
        T, N = h.shape[0], table.shape[0]
        rows = max(1, CHUNK_LOGITS // max(N, 1))
        hc, tc = h.to(compute_dtype), table.to(compute_dtype)  # (T, H), (N, H)
        needs_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        grad_h = torch.empty(T if needs_grad else 0, h.shape[1], dtype=torch.float32, device=h.device)
        grad_table = torch.zeros(N if needs_grad else 0, table.shape[1], dtype=torch.float32, device=h.device)
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        for lo in range(0, T, rows):
            hi = min(T, lo + rows)
            logits = (hc[lo:hi] @ tc.T).float()  # (c, N)
            target = targets[lo:hi, None]  # (c, 1)
            target_logit = logits.gather(1, target)  # (c, 1)
            top = logits.amax(dim=1, keepdim=True)  # (c, 1)
            probs = logits.sub_(top).exp_()  # (c, N), in place: one exp per logit
            norm = probs.sum(dim=1, keepdim=True)  # (c, 1)
            total += (norm.log() + top - target_logit).sum()  # log-sum-exp - target logit
            if not needs_grad:
                continue
            probs.div_(norm)  # softmax
            probs.scatter_add_(1, target, torch.full_like(target, -1.0, dtype=probs.dtype))  # softmax - one-hot
            p = probs.to(compute_dtype)
            grad_h[lo:hi] = p @ tc  # (c, H)
            if compute_dtype == torch.float32:
                grad_table.addmm_(p.T, hc[lo:hi])  # (N, H) += (N, c) @ (c, H)
            else:
                grad_table += (p.T @ hc[lo:hi]).float()
        ctx.save_for_backward(grad_h, grad_table)
        return total / max(T, 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad_h, grad_table = ctx.saved_tensors
        scale = grad_output / max(grad_h.shape[0], 1)  # not in place: a retained graph may run backward again
        return grad_h * scale, grad_table * scale, None, None  # fp32, as its inputs (linear_cross_entropy)


def linear_cross_entropy(h: torch.Tensor, table: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``softmax(h @ table.T)`` (h (T, H), table (N, H)) against ``targets`` (T,) in 0..N-1."""
    device_type = h.device.type
    autocast = torch.is_autocast_enabled(device_type)
    compute_dtype = torch.get_autocast_dtype(device_type) if autocast else torch.float32
    with torch.autocast(device_type, enabled=False):
        return _LinearCrossEntropy.apply(h.float(), table.float(), targets, compute_dtype)
