"""The ssrec plugin API: every hook a plugin may implement. These docstrings are its reference documentation.

A plugin is any Python object (usually a module) with functions marked ``@ssrec.hookimpl`` whose names
are hook names below. Third-party packages declare their plugin module in the ``ssrec`` entry-point
group of their ``pyproject.toml``::

    [project.entry-points.ssrec]
    myplugin = "myplugin.plugin"

and it is found at the first use of a registry (``ssrec.list_backbones()``, ``ssrec.create_backbone()``,
``ssrec plugins``, a training run). Setting ``SSREC_DISABLE_PLUGIN_AUTOLOAD`` to a non-empty value turns
entry-point loading off. The built-in backbones and objectives (``ssrec.backbones``,
``ssrec.objectives``) register through these same hooks.

Example, a plugin module that adds a backbone and watches training::

    from ssrec import hookimpl

    @hookimpl
    def ssrec_register_backbones(register):
        from myplugin.gru import GRU4Rec          # import heavy code inside the hook
        register("gru4rec", GRU4Rec, description="GRU4Rec (Hidasi et al., 2016)")

    @hookimpl
    def ssrec_epoch_end(stage, epoch, logs):
        mlflow.log_metrics({f"{stage}/{k}": v for k, v in logs.items()}, step=epoch)

A hook implementation may accept any subset of a hook's arguments, by name. Discovery hooks (the
``register`` ones) are called once per registry, when it is first needed; lifecycle hooks are broadcast
for coarse events only, never per training step (the per-step path is plain method calls).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pluggy

#: The pluggy project name: the marker attribute prefix and the entry-point group.
PROJECT_NAME = "ssrec"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Mark a plugin function as the implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The ``register`` callback that discovery hooks receive."""

    def __call__(self, name: str, factory: Callable[..., Any], *, description: str = "") -> None:
        """Make ``factory`` available under ``name``.

        Args:
            name: the unique name users select it by (``ssrec.create_backbone(name, ...)``, ``--backbone``).
                A name registered twice, by any two plugins, is an error naming both.
            factory: a class or function called with keyword arguments only, returning a fresh backbone,
                objective (``torch.nn.Module``) or loss.
            description: one line shown by ``ssrec plugins``.
        """
        ...


# ----------------------------------------------------------------------------------------- discovery

@hookspec
def ssrec_register_backbones(register: Register) -> None:
    """Register backbones (sequence encoders).

    Call ``register(name, factory, description=...)`` once per backbone. ``factory`` is called with
    keyword arguments: ``num_items`` (N, the number of items; ids are 0 = PAD, 1..N, N + 1 = MASK),
    ``num_users`` when the factory names that parameter (a user embedding; declare the ``users``
    capability), plus the backbone's own hyper-parameters (``hidden_size``, ``max_len``, ...), and must
    return a ``torch.nn.Module`` satisfying ``ssrec.contracts.Encoder``. Test it by subclassing
    ``ssrec.testing.BackboneContract``. Its ``spec`` attribute must hold the
    keyword arguments that rebuild it, since checkpoints store ``(name, spec)``. If the module has no
    ``name`` attribute, ssrec sets it to the registered name.

    An exception raised here disables this plugin's backbones (it is reported by ``ssrec plugins``)
    without affecting other plugins. Import heavy modules inside the hook, not at plugin import time.
    """


@hookspec
def ssrec_register_objectives(register: Register) -> None:
    """Register pre-training objectives.

    Same shape as ``ssrec_register_backbones``: ``factory`` is called with the objective's own keyword
    hyper-parameters only (``mask_ratio=0.2``, ``num_negatives=8``, ...) and returns a ``torch.nn.Module``
    satisfying ``ssrec.contracts.Objective``:

    - ``name``, ``requires`` (encoder capabilities, e.g. ``PER_POSITION``) and ``fields`` (data fields,
      e.g. ``ATTRIBUTES``): ``ssrec.compose`` checks them against the backbone and the data set and
      refuses an impossible composition with a sentence that says why. Optional ``default_weight``.
    - ``setup(context)``: create the heads; ``context`` (``ssrec.contracts.ObjectiveContext``) gives
      ``hidden_size``, ``num_items`` and ``num_attributes``.
    - ``loss(batch, step) -> scalar``: ``batch.items`` (B, L) are left-padded samples; corrupt them with
      tensor operations on their device and ``step.generator`` (``ssrec.data.corruption`` has S3-Rec's
      masking, negatives and segments), and get encoder outputs from ``step``:
      ``step.masked_items(batch, ratio)`` (the shared masked view and its encoding, one pass for every
      objective using the same ratio), ``step.encode(key, items)`` / ``step.summarize(key, items)``
      (memoised per ``ssrec.contracts.MemoKey(owner, view)``, owner = the objective's name),
      ``step.encoder.item_embeddings``, ``step.attribute_embeddings`` (one table
      shared by all attribute objectives) and ``step.data`` (``ssrec.data.pretrain_data.PretrainData``).

    Example (a complete objective plugin)::

        class NextItem(torch.nn.Module):
            name, requires, fields = "next-item", frozenset({"causal", "per_position"}), frozenset()

            def setup(self, context):
                self.head = torch.nn.Linear(context.hidden_size, context.hidden_size)

            def loss(self, batch, step):
                h = step.encoder.encode(batch.items, causal=True)[:, :-1]  # (B, L-1, H)
                logits = self.head(h) @ step.encoder.item_embeddings.weight.T
                targets = batch.items[:, 1:]
                return torch.nn.functional.cross_entropy(logits[targets > 0], targets[targets > 0])

        @hookimpl
        def ssrec_register_objectives(register):
            register("next-item", NextItem, description="causal next-item prediction")
    """


@hookspec
def ssrec_register_losses(register: Register) -> None:
    """Register fine-tuning (next-item) losses.

    Same shape as ``ssrec_register_backbones``: ``factory`` is called with the loss's own keyword options
    only (``num_negatives=256``, ...) and returns an object satisfying ``ssrec.contracts.NextItemLoss``
    (it need not be a module: a loss owns no parameters):

    - ``name`` and ``spec`` (its options, stored in run records);
    - ``setup(context)``, once per run: ``context`` (``ssrec.contracts.LossContext``) gives ``num_items``,
      the user-item ``index`` (``index.sample(users, shape, generator)`` draws negatives outside a user's
      items) and ``item_counts``, the training-target frequency of every item id;
    - ``loss(hidden, targets, users, item_table, generator) -> scalar``: ``hidden`` (B, L, H) causal outputs,
      ``targets`` (B, L) next-item ids with 0 where there is none, ``users`` (B,), ``item_table``
      (N + 2, H), the tied output layer (score = h . e_i). Return the MEAN over target positions, so a
      target weighs the same in every batch. ``ssrec.losses.common.target_positions`` gathers them.

    Users select a loss by name (``--loss NAME``, ``--loss-option KEY=VALUE``, ``FinetuneConfig(loss=...)``);
    ``ssrec plugins`` lists it. Test it by subclassing ``ssrec.testing.LossContract``.

    Example (a complete loss plugin)::

        class TopOneMargin:
            name, spec = "margin", {}

            def setup(self, context):
                self.index = context.index

            def __call__(self, hidden, targets, users, item_table, generator):
                negatives = self.index.sample(users, (targets.shape[1],), generator)  # (B, L)
                keep = targets > 0
                h = hidden[keep]
                pos = (h * item_table[targets[keep]]).sum(-1)
                neg = (h * item_table[negatives[keep]]).sum(-1)
                return torch.relu(1 - pos + neg).mean()

        @hookimpl
        def ssrec_register_losses(register):
            register("margin", TopOneMargin, description="hinge on one sampled negative")
    """


# ----------------------------------------------------------------------------------------- lifecycle

@hookspec
def ssrec_epoch_end(stage: str, epoch: int, logs: dict[str, float]) -> None:
    """Called after every epoch of training, with that epoch's losses and metrics.

    Args:
        stage: ``"finetune"`` (next-item training) or ``"pretrain"`` (self-supervised pre-training).
        epoch: the epoch just finished, counting from 1.
        logs: the epoch's numbers, e.g. ``{"loss": ..., "valid_NDCG@10": ...}``; a copy, so changing it
            has no effect on training.

    Return values are ignored. An exception raised here propagates and stops the run.
    """
