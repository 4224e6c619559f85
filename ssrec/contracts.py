"""The contracts that backbones (encoders) fulfil; objectives and training code rely on nothing else.

A backbone is a ``torch.nn.Module`` that satisfies ``Encoder``. Its capabilities say what it can do,
so that a composition that cannot work (a per-position objective on a backbone that only produces a
sequence summary, fine-tuning a backbone that cannot run causally) fails when it is built, with a
sentence that says why.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch
from torch import nn

if TYPE_CHECKING:  # annotations only (the data layer below never imports this module)
    from ssrec.data.corruption import MaskedItems
    from ssrec.data.pretrain_data import PretrainBatch, PretrainData
    from ssrec.data.sampling import UserItemIndex

#: The backbone can attend to later items (S3-Rec pre-training mode).
BIDIRECTIONAL = "bidirectional"
#: The backbone can run so that output t depends on items 0..t only (next-item fine-tuning).
CAUSAL = "causal"
#: ``encode`` returns a meaningful vector at every position, not only at the last one.
PER_POSITION = "per_position"
#: ``encode``/``summarize`` take ``users=`` (B,) user rows 0..U-1 (a user embedding, as in Caser); its
#: factory takes ``num_users``.
USERS = "users"

KNOWN_CAPABILITIES = frozenset({BIDIRECTIONAL, CAUSAL, PER_POSITION, USERS})


@runtime_checkable
class Encoder(Protocol):
    """What every backbone provides.

    Ids follow S3-Rec: 0 is PAD, 1..N are items, N + 1 is MASK; sequences are left-padded.

    Attributes:
        name: the registered name (set by ``ssrec.create_backbone`` when the class has none).
        hidden_size: H, the width of every output vector and of the item embeddings.
        capabilities: a subset of ``KNOWN_CAPABILITIES``.
        default_causal: the mode ``encode(..., causal=None)`` uses; pre-training objectives use it, so a
            causal preset (SASRec, GRU4Rec) stays unidirectional during pre-training.
        item_embeddings: the item table, ``nn.Embedding(N + 2, H)``. It is tied: input embedding, MIP
            target and fine-tuning output layer.
        spec: the keyword arguments that rebuild this backbone with ``ssrec.create_backbone(name, **spec)``;
            checkpoints store it.

    A backbone may also define ``summarize(items, *, causal=None) -> (B, H)``, the output at the last
    position computed more cheaply than a full ``encode`` (the Transformer's last layer then works on
    one query); ``sequence_summary`` uses it when present.

    A backbone without ``PER_POSITION`` produces a sequence summary only (Caser): its ``encode`` returns
    (B, 1, H), the summary at the last position, and next-item fine-tuning trains it on every prefix.
    A backbone with ``USERS`` receives the user rows as ``users=`` in ``encode`` and ``summarize``.
    """

    name: str
    hidden_size: int
    capabilities: frozenset[str]
    default_causal: bool
    item_embeddings: nn.Embedding
    spec: dict[str, Any]

    # the torch.nn.Module methods training and checkpoints rely on
    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any: ...
    def to(self, device: torch.device | str) -> Any: ...
    def train(self, mode: bool = True) -> Any: ...
    def eval(self) -> Any: ...

    def encode(self, items: torch.Tensor, *, causal: bool | None = None, **inputs: torch.Tensor) -> torch.Tensor:
        """Encode left-padded item ids (B, L) into hidden states (B, L, H); ``inputs``: ``users`` (B,) for ``USERS``.

        With ``causal=True`` the output at position t must not depend on items after t. Outputs at PAD
        positions are unspecified and never read. Raises ``ValueError`` for a mode the backbone lacks.
        """
        ...


def user_inputs(encoder: Encoder, users: torch.Tensor | None) -> dict[str, Any]:
    """``{"users": users}`` for a backbone with the ``USERS`` capability, else ``{}`` (keyword arguments to encode)."""
    if USERS not in encoder.capabilities:
        return {}
    if users is None:
        raise ValueError(f"backbone {getattr(encoder, 'name', type(encoder).__name__)!r} needs the user rows (users=)")
    return {"users": users}


def sequence_summary(encoder: Encoder, items: torch.Tensor, *, causal: bool | None = None,
                     users: torch.Tensor | None = None) -> torch.Tensor:
    """The encoder's output at the last position (B, H): ``summarize`` where defined, else ``encode(...)[:, -1]``.

    ``users`` (B,) are passed on to a backbone with the ``USERS`` capability.
    """
    summarize = getattr(encoder, "summarize", None)
    if summarize is not None:
        return summarize(items, causal=causal, **user_inputs(encoder, users))
    return encoder.encode(items, causal=causal, **user_inputs(encoder, users))[:, -1]


def require_capabilities(encoder: Encoder, needed: frozenset[str] | set[str], who: str) -> None:
    """Raise a ``ValueError`` naming ``who`` and the missing capabilities, if the encoder lacks any."""
    missing = set(needed) - set(encoder.capabilities)
    if missing:
        name = getattr(encoder, "name", type(encoder).__name__)
        raise ValueError(f"{who} needs a backbone with {', '.join(sorted(missing))} output, but backbone "
                         f"{name!r} only offers {', '.join(sorted(encoder.capabilities)) or 'nothing'}")


# ----------------------------------------------------------------------------------------- objectives

#: Data field: item attributes (``SequenceDataset.attributes``); AAP and MAP need it.
ATTRIBUTES = "attributes"
KNOWN_FIELDS = frozenset({ATTRIBUTES})


#: Standard deviation of the normal initialisation of every head and table (as released).
INITIALIZER_RANGE = 0.02


@dataclass(frozen=True)
class ObjectiveContext:
    """What ``Objective.setup`` may size its heads by."""

    hidden_size: int
    num_items: int
    num_attributes: int  # 0 without attributes
    initializer_range: float = INITIALIZER_RANGE


@dataclass(frozen=True)
class MemoKey:
    """A key of a training step's memo: who owns it (an objective's registered name, or "ssrec" for the views
    the composition shares) and which view it names. Two plugins cannot collide on a bare string."""

    owner: str
    view: Hashable = None


class PretrainStep(Protocol):
    """What an objective's ``loss`` may use of one training step (``ssrec.training.composition.StepContext``).

    Attributes:
        encoder: the backbone (``Encoder``).
        data: the pre-training samples and their tensors (``ssrec.data.pretrain_data.PretrainData``).
        generator: the step's random generator; every random draw of an objective comes from it.
        attribute_embeddings: the attribute table shared by all attribute objectives (None without attributes).
    """

    encoder: Any
    data: PretrainData
    generator: torch.Generator
    attribute_embeddings: nn.Embedding | None

    def memo(self, key: MemoKey, build: Callable[[], Any]) -> Any:
        """``build()`` the first time ``key`` is asked for in this step, the same object afterwards."""
        ...

    def encode(self, key: MemoKey, items: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's output (B, L, H) for ``items`` in its default mode, once per ``key``."""
        ...

    def summarize(self, key: MemoKey, items: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's last-position output (B, H) for ``items`` in its default mode, once per ``key``."""
        ...

    def masked_items(self, batch: PretrainBatch, ratio: float) -> tuple[MaskedItems, torch.Tensor]:
        """The batch masked with ``ratio`` (last item always masked) and its encoding (B, L, H), shared."""
        ...


@runtime_checkable
class Objective(Protocol):
    """What every pre-training objective provides (a ``torch.nn.Module`` owning its heads).

    The life of an objective inside a composition (``ssrec.compose``):

    1. The registered factory builds it from its hyper-parameters alone (``mask_ratio=0.2``, ...).
    2. The composition checks ``requires`` against the backbone's capabilities and ``fields`` against the
       data set, and refuses an impossible composition with a sentence that says why.
    3. ``setup(context)`` creates the heads, whose sizes depend on the backbone and the data.
    4. Every training step calls ``loss(batch, step)``: the objective corrupts the batch itself, with
       tensor operations on the batch's device and ``step.generator``, asks ``step`` for encoder passes
       (memoised, so objectives that use the same corrupted view share one forward) and returns a scalar.

    Attributes:
        name: the registered name (set by ``ssrec.create_objective`` when the class has none).
        requires: encoder capabilities it needs (``PER_POSITION`` for per-position targets).
        fields: data fields it needs (``ATTRIBUTES``).
    """

    name: str
    requires: frozenset[str]
    fields: frozenset[str]
    #: the options that rebuild it with ``ssrec.create_objective(name, **spec)`` (stored in checkpoints)
    spec: dict[str, Any]
    #: its weight in a composition when none is given (S3-Rec: AAP 0.2, MIP 1.0, MAP 1.0, SP 0.5)
    default_weight: float

    def setup(self, context: ObjectiveContext) -> None:
        """Create the heads, sized by ``context`` (hidden size, number of items and attributes)."""
        ...

    def loss(self, batch: PretrainBatch, step: PretrainStep) -> torch.Tensor:
        """The objective's loss (a scalar tensor) on ``batch``, with encoder passes and randomness from ``step``."""
        ...


def require_fields(fields: frozenset[str] | set[str], available: frozenset[str] | set[str], who: str,
                   data_name: str) -> None:
    """Raise a ``ValueError`` naming ``who`` and the data fields ``data_name`` lacks, if any."""
    missing = set(fields) - set(available)
    if missing:
        raise ValueError(f"{who} needs item {', '.join(sorted(missing))}, but data set {data_name!r} has none "
                         f"(pass an attributes file, or leave {who} out)")


# ----------------------------------------------------------------------------------------- fine-tuning losses

@dataclass(frozen=True)
class LossContext:
    """What ``NextItemLoss.setup`` may read: the training data a loss samples from.

    Attributes:
        num_items: N (ids 1..N; 0 is PAD, N + 1 is MASK).
        index: membership of (user row, item) pairs; ``index.sample(users, shape, generator)`` draws uniform
            negatives outside each user's items.
        item_counts: (N + 2,) how often each item id is a training target (0 for PAD and MASK).
    """

    num_items: int
    index: UserItemIndex
    item_counts: torch.Tensor


@runtime_checkable
class NextItemLoss(Protocol):
    """What every fine-tuning loss provides (registered with ``ssrec_register_losses``).

    1. The registered factory builds it from its own options alone (``num_negatives=256``, ...); ``spec``
       holds those options (checkpoints and run records store it).
    2. ``setup(context)`` runs once per fine-tuning run, before the first batch.
    3. Every step calls it on the causal hidden states ``hidden`` (B, L, H), the next-item ``targets`` (B, L)
       with 0 where a position has no target, the batch's user rows ``users`` (B,), the tied item table
       ``item_table`` (N + 2, H) (score = h . e_i) and the run's ``generator`` for any sampling. It returns
       a scalar: the mean over target positions, so that every target weighs the same.
    """

    name: str
    spec: dict[str, Any]

    def setup(self, context: LossContext) -> None:
        """Read what the loss needs from ``context`` (negative index, item frequencies)."""
        ...

    def __call__(self, hidden: torch.Tensor, targets: torch.Tensor, users: torch.Tensor,
                 item_table: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The loss of one batch (a scalar tensor)."""
        ...
