"""Contract test suites for plugin authors: subclass them in your own tests, set a name, run pytest.

    # tests/test_my_backbone.py, in a plugin package
    from ssrec.testing import BackboneContract, ObjectiveContract

    class TestMyBackbone(BackboneContract):
        backbone_name = "my-backbone"            # as registered by your plugin
        backbone_options = {"hidden_size": 16}   # optional

    class TestMyObjective(ObjectiveContract):
        objective_name = "my-objective"
        objective_options = {"temperature": 0.5}

    class TestMyLoss(LossContract):
        loss_name = "my-loss"
        loss_options = {"num_negatives": 16}

The built-in backbones, objectives and losses pass the same suites (``tests/test_contract_suites.py``). Each test
checks behaviour the rest of ssrec relies on: shapes, gradients, causality, left padding, checkpoint round
trips; for objectives, a finite scalar loss, gradients, determinism under a seed, an untouched batch, and
declared needs that ``ssrec.compose`` enforces; for losses, a finite scalar that ignores positions without a
target, a gradient that raises the target's score, determinism under a seed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from ssrec.contracts import (
    ATTRIBUTES,
    BIDIRECTIONAL,
    CAUSAL,
    KNOWN_CAPABILITIES,
    KNOWN_FIELDS,
    PER_POSITION,
    Encoder,
    LossContext,
    NextItemLoss,
    Objective,
    sequence_summary,
    user_inputs,
)
from ssrec.data.dataset import SequenceDataset
from ssrec.data.pretrain_data import PretrainData, pretrain_samples
from ssrec.data.sampling import UserItemIndex
from ssrec.data.synthetic import make_synthetic
from ssrec.io.checkpoint import load_checkpoint, rebuild_backbone, save_checkpoint
from ssrec.plugins import create_backbone, create_backbone_for, create_loss, create_objective
from ssrec.training.composition import PretrainModel, StepContext, compose


def _raises(error: type[BaseException], call: Any) -> str:
    try:
        call()
    except error as exc:
        return str(exc)
    raise AssertionError(f"expected {error.__name__}")


class BackboneContract:
    """The encoder contract (``ssrec.contracts.Encoder``), as tests. Set ``backbone_name``."""

    backbone_name: str = ""
    backbone_options: dict[str, Any] = {}
    num_items: int = 30
    num_users: int = 4
    max_len: int = 8

    def make_backbone(self) -> Encoder:
        torch.manual_seed(0)
        return create_backbone_for(self.backbone_name, num_items=self.num_items, num_users=self.num_users,
                                   max_len=self.max_len, **self.backbone_options)

    def items(self, rows: int = 4) -> torch.Tensor:
        """Left-padded ids (rows, max_len): row 1 and 2 padded, the others full."""
        x = torch.randint(1, self.num_items + 1, (rows, self.max_len), generator=torch.Generator().manual_seed(0))
        x[1, : self.max_len // 2] = 0
        x[2, : self.max_len - 1] = 0
        return x

    def encode(self, backbone: Encoder, items: torch.Tensor, causal: bool | None = None) -> torch.Tensor:
        """``backbone.encode`` in its causal mode where it has one, with user rows where it takes them."""
        if causal is None and CAUSAL in backbone.capabilities:
            causal = True
        users = torch.arange(len(items)) % max(self.num_users, 1)
        return backbone.encode(items, causal=causal, **user_inputs(backbone, users))

    def test_satisfies_the_contract(self) -> None:
        backbone = self.make_backbone().eval()
        assert isinstance(backbone, Encoder)
        assert backbone.capabilities <= KNOWN_CAPABILITIES, backbone.capabilities - KNOWN_CAPABILITIES
        assert backbone.item_embeddings.weight.shape == (self.num_items + 2, backbone.hidden_size)
        out = self.encode(backbone, self.items())
        width = self.max_len if PER_POSITION in backbone.capabilities else 1
        assert out.shape == (4, width, backbone.hidden_size) and torch.isfinite(out).all()

    def test_gradients_reach_every_parameter(self) -> None:
        backbone = self.make_backbone().train()
        x = self.items()
        x[:, 0] = 1  # every position real, so every position parameter is used
        self.encode(backbone, x).sum().backward()
        missing = [n for n, p in backbone.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not missing, f"no gradient reaches {missing}"

    def test_declared_modes_match_behaviour(self) -> None:
        backbone = self.make_backbone().eval()
        x = self.items()
        later = x.clone()
        later[:, -1] = later[:, -1] % self.num_items + 1  # change only the last item
        if CAUSAL in backbone.capabilities and PER_POSITION in backbone.capabilities:
            torch.testing.assert_close(self.encode(backbone, later, True)[:, :-1],
                                       self.encode(backbone, x, True)[:, :-1],
                                       rtol=0, atol=0, msg="a causal output depends on a later item")
        if BIDIRECTIONAL in backbone.capabilities:
            first = self.encode(backbone, later, False)[0, 0]
            assert not torch.allclose(first, self.encode(backbone, x, False)[0, 0]), \
                "declares bidirectional but position 0 ignores the last item"
        else:
            _raises(ValueError, lambda: self.encode(backbone, x, False))

    def test_left_padding_width_changes_no_real_output(self) -> None:
        """Batches are trimmed to their longest row: extra leading PAD columns must change no real output."""
        backbone = self.make_backbone().eval()
        narrow = self.items()[:, 2:]
        padded = torch.nn.functional.pad(narrow, (2, 0))
        if PER_POSITION in backbone.capabilities:
            real = narrow != 0
            torch.testing.assert_close(self.encode(backbone, padded)[:, 2:][real], self.encode(backbone, narrow)[real],
                                       rtol=0, atol=1e-5)
        else:
            torch.testing.assert_close(self.encode(backbone, padded)[:, -1], self.encode(backbone, narrow)[:, -1],
                                       rtol=0, atol=1e-5)

    def test_sequence_summary_is_the_last_output(self) -> None:
        backbone = self.make_backbone().eval()
        users = torch.arange(4) % max(self.num_users, 1)
        causal = True if CAUSAL in backbone.capabilities else None
        torch.testing.assert_close(sequence_summary(backbone, self.items(), causal=causal, users=users),
                                   self.encode(backbone, self.items())[:, -1], rtol=0, atol=1e-5)

    def test_checkpoint_round_trip(self, tmp_path: Path) -> None:
        backbone = self.make_backbone().eval()
        save_checkpoint(tmp_path / "backbone.pt", backbone, kind="finetuned")
        rebuilt = rebuild_backbone(load_checkpoint(tmp_path / "backbone.pt")).eval()
        torch.testing.assert_close(self.encode(rebuilt, self.items()), self.encode(backbone, self.items()),
                                   rtol=0, atol=0)


class ObjectiveContract:
    """The objective contract (``ssrec.contracts.Objective``), as tests. Set ``objective_name``."""

    objective_name: str = ""
    objective_options: dict[str, Any] = {}
    backbone_name: str = "transformer"

    def make_objective(self) -> Objective:
        return create_objective(self.objective_name, **self.objective_options)

    def dataset(self, attributes: bool = True) -> SequenceDataset:
        data = make_synthetic(num_users=40, num_items=30, num_categories=4, max_len=12, seed=0)
        return data if attributes else SequenceDataset(data.name, data.items, data.offsets, data.num_items, data.users)

    def compose(self, objective: Objective | None = None) -> tuple[PretrainModel, PretrainData]:
        dataset = self.dataset()
        torch.manual_seed(0)
        backbone = create_backbone(self.backbone_name, num_items=dataset.num_items, hidden_size=16, max_len=12)
        return compose(backbone, [objective or self.make_objective()], dataset), pretrain_samples(dataset, 12)

    def loss(self, model: PretrainModel, data: PretrainData, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's loss on a batch of every sample length, and that batch's items (for later checks)."""
        batch = data.batch(torch.arange(0, data.num_samples, max(1, data.num_samples // 64)))
        items = batch.items.clone()
        step = StepContext(model.encoder, data, torch.Generator().manual_seed(seed), model.attribute_embeddings)
        objective = cast(Objective, next(iter(model.objectives.values())))
        loss = objective.loss(batch, step)
        assert torch.equal(batch.items, items), "the objective modified the batch (corrupt a copy)"
        return loss, items

    def test_declares_the_contract(self) -> None:
        objective = self.make_objective()
        assert isinstance(objective, Objective) and isinstance(objective, nn.Module)
        assert objective.name == self.objective_name
        assert set(objective.requires) <= KNOWN_CAPABILITIES and set(objective.fields) <= KNOWN_FIELDS

    def test_loss_is_a_finite_scalar_whose_gradient_reaches_the_encoder(self) -> None:
        model, data = self.compose()
        loss, _ = self.loss(model.train(), data)
        assert loss.dim() == 0 and torch.isfinite(loss), loss
        loss.backward()
        grads = [p.grad for p in model.encoder.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), "no gradient reaches the encoder"
        heads = [p for n, p in model.named_parameters() if n.startswith("objectives.")]
        assert all(p.grad is not None for p in heads), "a head parameter gets no gradient"

    def test_same_seed_same_loss(self) -> None:
        model, data = self.compose()
        model.eval()
        with torch.no_grad():
            assert torch.equal(self.loss(model, data, seed=3)[0], self.loss(model, data, seed=3)[0])

    def test_declared_needs_are_enforced_at_composition(self) -> None:
        objective = self.make_objective()
        if ATTRIBUTES in objective.fields:
            message = _raises(ValueError, lambda: compose(
                create_backbone(self.backbone_name, num_items=30, hidden_size=16, max_len=12), [objective],
                self.dataset(attributes=False)))
            assert "attributes" in message


class LossContract:
    """The fine-tuning loss contract (``ssrec.contracts.NextItemLoss``), as tests. Set ``loss_name``."""

    loss_name: str = ""
    loss_options: dict[str, Any] = {}
    num_items: int = 40
    hidden_size: int = 8

    def data(self) -> SequenceDataset:
        return make_synthetic(num_users=6, num_items=self.num_items, num_categories=4, max_len=12, seed=0)

    def make_loss(self) -> NextItemLoss:
        loss = create_loss(self.loss_name, **self.loss_options)
        data = self.data()
        counts = torch.bincount(torch.from_numpy(data.items), minlength=self.num_items + 2)
        loss.setup(LossContext(num_items=self.num_items, index=UserItemIndex(data), item_counts=counts))
        return loss

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden states (4, 6, H), targets (4, 6): users 0..3's last items, PAD where there is none, users (4,),
        item table (N + 2, H)."""
        data = self.data()
        targets = torch.stack([torch.from_numpy(data.sequence(u)[-6:]) for u in range(4)])
        targets[0, :3] = 0
        targets[2, :5] = 0
        g = torch.Generator().manual_seed(0)
        hidden = torch.randn(4, 6, self.hidden_size, generator=g, requires_grad=True)
        table = torch.randn(self.num_items + 2, self.hidden_size, generator=g, requires_grad=True)
        return hidden, targets, torch.arange(4), table

    def test_declares_the_contract(self) -> None:
        loss = create_loss(self.loss_name, **self.loss_options)
        assert isinstance(loss, NextItemLoss) and loss.name == self.loss_name
        assert isinstance(loss.spec, dict) and all(isinstance(k, str) for k in loss.spec)

    def test_loss_is_a_finite_scalar_with_gradients_only_at_targets(self) -> None:
        hidden, targets, users, table = self.batch()
        value = self.make_loss()(hidden, targets, users, table, torch.Generator().manual_seed(1))
        assert value.dim() == 0 and torch.isfinite(value), value
        value.backward()
        assert hidden.grad is not None and table.grad is not None
        assert hidden.grad[targets == 0].abs().sum() == 0, "a position without a target changed the loss"
        assert hidden.grad[targets > 0].abs().sum(-1).gt(0).all(), "a target position gets no gradient"

    def test_raising_the_target_score_lowers_the_loss(self) -> None:
        _, targets, users, _ = self.batch()
        width = self.num_items + 2
        table = torch.eye(width)  # score of item i = h[i]: raising one score leaves every other as it was
        hidden = torch.randn(*targets.shape, width, generator=torch.Generator().manual_seed(2))
        raised = hidden + 3.0 * torch.nn.functional.one_hot(targets, width) * (targets > 0)[..., None]
        loss = self.make_loss()
        with torch.no_grad():
            before = loss(hidden, targets, users, table, torch.Generator().manual_seed(1))
            after = loss(raised, targets, users, table, torch.Generator().manual_seed(1))
        assert after < before, (float(before), float(after))

    def test_same_seed_same_loss(self) -> None:
        hidden, targets, users, table = self.batch()
        loss = self.make_loss()
        with torch.no_grad():
            assert torch.equal(loss(hidden, targets, users, table, torch.Generator().manual_seed(3)),
                               loss(hidden, targets, users, table, torch.Generator().manual_seed(3)))
