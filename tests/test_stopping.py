"""Early stopping on synthetic validation curves: plateau then rise, a true peak then decline, noise."""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssrec.training.stopping import RULES, EarlyStopping, stopping_rule


def plateau_then_rise(plateau: range = range(10, 26)) -> list[float]:
    """LastFM's shape: up to 0.15 by epoch 10, then level (just under it, by < 1%) to epoch 25, then a climb to
    0.27 by epoch 120."""
    rng = random.Random(0)
    curve = []
    for epoch in range(1, 161):
        if epoch < plateau.start:
            value = 0.15 * epoch / plateau.start
        elif epoch in plateau:
            value = 0.15 * (1 - rng.uniform(0.0, 0.008))
        else:
            value = 0.15 + 0.12 * (1 - math.exp(-(epoch - plateau.stop) / 30))
        curve.append(value)
    return curve


def peak_then_decline(peak: int = 40) -> list[float]:
    """A curve that rises to its peak and then overfits: 1% lower every epoch after it."""
    return [0.05 * min(e, peak) / peak * (0.99 ** max(0, e - peak)) for e in range(1, 201)]


def test_the_released_rule_stops_on_the_plateau_and_the_default_does_not():
    curve = plateau_then_rise()
    released, default = RULES["released"], RULES["ssrec"]
    assert released.stop_epoch(curve) < 30  # fooled: stopped with the plateau's value
    stop = default.stop_epoch(curve)
    assert stop is None or stop > 120  # outlasted the plateau and followed the climb
    best_seen = max(curve[: stop or len(curve)])
    assert best_seen > 0.26


def test_a_true_peak_then_decline_stops_soon_after_the_peak():
    curve = peak_then_decline(peak=40)
    for rule in RULES.values():
        stop = rule.stop_epoch(curve)
        assert stop is not None and 40 + rule.patience <= stop <= 40 + rule.patience + 5
        assert max(range(stop), key=lambda i: curve[i]) + 1 == 40  # the peak is what is kept


def test_a_noisy_level_curve_is_given_up_on():
    rng = random.Random(1)
    curve = [0.1 * min(e, 20) / 20 + rng.uniform(-0.004, 0.004) for e in range(1, 201)]
    stop = RULES["ssrec"].stop_epoch(curve)
    assert stop is not None and stop < 120


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60), st.integers(1, 15))
def test_patience_alone_is_the_released_rule(curve, patience):
    """EarlyStopping(p) stops exactly when the release did: p epochs after the last strict new best."""
    best, best_epoch = float("-inf"), 0
    for epoch, value in enumerate(curve, start=1):
        if value > best:
            best, best_epoch = value, epoch
        assert EarlyStopping(patience).should_stop(curve[:epoch]) == (epoch - best_epoch >= patience)


def test_a_rule_is_chosen_by_name_and_its_patience_may_be_replaced():
    assert stopping_rule("released") == EarlyStopping(10)
    assert stopping_rule("ssrec", patience=7).patience == 7
    with pytest.raises(ValueError, match="unknown stopping rule 'eager'; known: released, ssrec"):
        stopping_rule("eager")
    with pytest.raises(ValueError, match="tolerance must be a number in"):
        EarlyStopping(10, tolerance=1.5)
