"""The fused Adam that training uses follows the same updates as torch's reference Adam."""
from __future__ import annotations

import torch

from ssrec.training.optim import adam


def test_fused_adam_tracks_the_reference_adam():
    torch.manual_seed(0)
    a = torch.nn.Linear(8, 4)
    b = torch.nn.Linear(8, 4)
    b.load_state_dict(a.state_dict())
    fast = adam(a.parameters(), lr=1e-2, weight_decay=1e-3, device=torch.device("cpu"))
    reference = torch.optim.Adam(b.parameters(), lr=1e-2, weight_decay=1e-3, foreach=False)
    for step in range(20):
        x = torch.randn(16, 8, generator=torch.Generator().manual_seed(step))
        for model, optimizer in ((a, fast), (b, reference)):
            optimizer.zero_grad()
            model(x).pow(2).sum().backward()
            optimizer.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert not torch.equal(a.weight, torch.nn.Linear(8, 4).weight)  # it moved
