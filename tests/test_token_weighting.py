"""Bucketed fine-tuning weighs every target token as random batches do, whatever its batch's lengths."""
from __future__ import annotations

import torch

from ssrec.plugins import create_loss
from ssrec.training.finetuning import token_weighted


def _batch(long_rows: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden states (4, 12, 8) and targets (4, 12): row 0 is the same in both batches (3 targets); the other
    rows have 1 target each (a batch of short histories) or 12 (a batch of long ones)."""
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 12, 8, generator=g)
    targets = torch.zeros(4, 12, dtype=torch.long)
    targets[0, -3:] = torch.tensor([5, 9, 2])
    others = torch.randint(1, 20, (3, 12), generator=torch.Generator().manual_seed(1 + long_rows))
    targets[1:, (0 if long_rows else 11):] = others[:, (0 if long_rows else 11):]
    return hidden.requires_grad_(), targets


def _row0_gradient(long_rows: bool, mean_tokens: float | None) -> tuple[torch.Tensor, int]:
    hidden, targets = _batch(long_rows)
    loss = create_loss("ce")  # deterministic: a token's term depends on its own hidden state only
    table = torch.randn(22, 8, generator=torch.Generator().manual_seed(2))
    weighted = token_weighted(loss(hidden, targets, torch.arange(4), table, torch.Generator()), targets, mean_tokens)
    (grad,) = torch.autograd.grad(weighted, hidden)
    return grad[0], int((targets > 0).sum())


def test_a_token_weighs_one_over_the_mean_batch_tokens_in_short_and_long_batches():
    short, short_tokens = _row0_gradient(long_rows=False, mean_tokens=20.0)
    long, long_tokens = _row0_gradient(long_rows=True, mean_tokens=20.0)
    assert (short_tokens, long_tokens) == (6, 39)
    torch.testing.assert_close(short, long)  # row 0's tokens weigh the same in both batches


def test_the_plain_mean_weighs_a_token_by_its_batchs_size():
    """What bucketing did before: a token in the short batch weighed 39/6 = 6.5 times more."""
    short, short_tokens = _row0_gradient(long_rows=False, mean_tokens=None)
    long, long_tokens = _row0_gradient(long_rows=True, mean_tokens=None)
    assert short.abs().sum() > 0
    torch.testing.assert_close(short, long * (long_tokens / short_tokens))


def test_weighted_batches_of_an_epoch_sum_to_the_per_token_mean():
    """Over an epoch the weighted batch losses average to the mean loss per token (what the log reports)."""
    per_token = [torch.rand(n) for n in (2, 3, 40, 7)]
    mean_tokens = sum(len(t) for t in per_token) / len(per_token)
    batch_losses = [token_weighted(t.mean(), torch.ones(len(t)), mean_tokens) for t in per_token]
    torch.testing.assert_close(sum(batch_losses) / len(batch_losses), torch.cat(per_token).mean())
