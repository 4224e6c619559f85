"""Run spec parts from the command line's option strings (``KEY=VALUE`` pairs, objective lists and weights)."""
from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence
from typing import Any

from ssrec.runs.spec import ObjectiveSpec


def option_pairs(flag: str, pairs: Sequence[str], example: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs -> {key: value}; values are Python literals (numbers, booleans), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {example}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def objectives_from_options(objectives: str | None, weights: str | None, option_pairs_given: list[str] | None,
                            base: tuple[ObjectiveSpec, ...]) -> tuple[ObjectiveSpec, ...]:
    """``--objectives a,b``, ``--weights 1,0.5`` and ``--objective-option a.KEY=VALUE`` applied to ``base``."""
    names = [o.name for o in base]
    if objectives is not None:
        names = [n.strip() for n in objectives.split(",") if n.strip()]
        if not names:
            raise ValueError(f"--objectives {objectives!r}: expected comma-separated names, e.g. aap,mip,map,sp")
    old = {o.name: o for o in base}
    specs = {n: old.get(n, ObjectiveSpec(n)) for n in names}
    if weights is not None:
        parts = [p.strip() for p in weights.split(",")]
        if len(parts) != len(names):
            raise ValueError(f"--weights {weights!r}: {len(parts)} weights for {len(names)} objectives "
                             f"({','.join(names)})")
        try:
            specs = {n: dataclasses.replace(specs[n], weight=float(p)) for n, p in zip(names, parts)}
        except ValueError:
            raise ValueError(f"--weights {weights!r}: expected numbers, e.g. 0.2,1,1,0.5") from None
    for pair in option_pairs_given or []:
        key, sep, value = pair.partition("=")
        objective, dot, option = key.partition(".")
        if not sep or not dot or not option:
            raise ValueError(f"--objective-option {pair!r}: expected OBJECTIVE.KEY=VALUE, e.g. mip.num_negatives=8")
        if objective not in specs:
            raise ValueError(f"--objective-option {pair!r}: {objective!r} is not among the objectives {names}")
        options = {**specs[objective].options, **option_pairs("--objective-option", [f"{option}={value}"], "")}
        specs[objective] = dataclasses.replace(specs[objective], options=options)
    return tuple(specs.values())
