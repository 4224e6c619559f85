"""Early stopping: when fine-tuning gives up on a validation curve that no longer improves.

The released rule stops ``patience`` (10) epochs after the last new best. A validation curve of SASRec often
sits on a plateau for ten or more epochs before it climbs again (LastFM's MRR: about 0.15 from epoch 10 to
24, then up to 0.27), and the released rule stops there. ``EarlyStopping`` adds two ways to outlast a plateau:

- ``min_epochs``: no stop before this epoch;
- ``tolerance``: an epoch whose value is within this fraction of the best so far also resets the patience
  clock, so a flat (or noisy but level) curve keeps training, while a real decline stops it.

Model selection is unchanged: the weights of the best validation epoch (a strict new maximum) are kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EarlyStopping:
    """Stop once ``patience`` epochs have passed since the curve was last at (or within ``tolerance`` of) its
    best, and never before ``min_epochs``. ``EarlyStopping(10)`` is the released rule."""

    patience: int = 10
    min_epochs: int = 0
    tolerance: float = 0.0  # relative: an epoch at >= (1 - tolerance) * best resets the clock

    def __post_init__(self) -> None:
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 1:
            raise ValueError(f"early stopping: patience must be an integer >= 1, got {self.patience!r}")
        if not isinstance(self.min_epochs, int) or isinstance(self.min_epochs, bool) or self.min_epochs < 0:
            raise ValueError(f"early stopping: min_epochs must be an integer >= 0, got {self.min_epochs!r}")
        if not isinstance(self.tolerance, (int, float)) or isinstance(self.tolerance, bool) \
                or not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"early stopping: tolerance must be a number in [0, 1), got {self.tolerance!r}")

    def should_stop(self, curve: Sequence[float]) -> bool:
        """Whether training stops after the last epoch of ``curve``, the validation values of epochs 1..E."""
        epoch = len(curve)
        return epoch >= self.min_epochs and epoch - self.last_active(curve) >= self.patience

    def last_active(self, curve: Sequence[float]) -> int:
        """The last epoch (1-based; 0 if none) that set a new best or came within ``tolerance`` of the best."""
        best, active = float("-inf"), 0
        for epoch, value in enumerate(curve, start=1):
            if value > best:
                best, active = value, epoch
            elif self.tolerance and value >= (1.0 - self.tolerance) * best:
                active = epoch
        return active

    def stop_epoch(self, curve: Sequence[float]) -> int | None:
        """The epoch after which this rule stops on ``curve``, or None if it runs through every epoch given."""
        for epoch in range(1, len(curve) + 1):
            if self.should_stop(curve[:epoch]):
                return epoch
        return None

    def describe(self) -> str:
        parts = [f"patience {self.patience}"]
        if self.tolerance:
            parts.append(f"within {self.tolerance:.0%} of the best counts as progress")
        if self.min_epochs:
            parts.append(f"at least {self.min_epochs} epochs")
        return ", ".join(parts)


#: the rules by name: "released" is the S3-Rec/SASRec release's; "ssrec" the default, chosen by replaying
#: candidate rules on whole fine-tuning curves of LastFM and Beauty (benchmarks/stopping_rules.py; README,
#: "Defaults"): on each of nine curves (3 seeds of SASRec on LastFM and Beauty, of S3-Rec on Beauty) it
#: reported the test metric of the curve's best validation epoch, where the released rule kept 61% of it on
#: LastFM (stopped on the plateau) and 91% on Beauty; 1% tolerance lost 9% on a Beauty curve whose
#: validation value moves 2-3% from epoch to epoch
RULES: dict[str, EarlyStopping] = {
    "released": EarlyStopping(patience=10),
    "ssrec": EarlyStopping(patience=10, tolerance=0.02),
}


def stopping_rule(name: str, patience: int | None = None) -> EarlyStopping:
    """The rule ``name`` (a key of ``RULES``), with ``patience`` replaced when given."""
    if name not in RULES:
        raise ValueError(f"unknown stopping rule {name!r}; known: {', '.join(RULES)}")
    rule = RULES[name]
    return rule if patience is None else EarlyStopping(patience, rule.min_epochs, rule.tolerance)
