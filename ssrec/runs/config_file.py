"""Config files: a run spec in a TOML file, read with ``--config`` and saved in every run folder.

    ssrec pretrain --config lastfm.toml                  # every setting may come from the file
    ssrec run --config runs/x/config.toml --out runs/y   # the command line overrides the file

A file holds ``command = "run"`` (or pretrain, finetune, evaluate) and the tables of a ``RunSpec``
(``ssrec.runs.spec``)::

    command = "finetune"
    seed = 42
    [data]
    path = "Beauty.txt"
    [backbone]
    name = "sasrec"
    options = {hidden_size = 64}
    [finetune]
    loss = "ce"
    [protocol]
    name = "full"

Unknown keys, wrong types and values no run could use are errors naming the file and the key. Files
written before run specs (one flat key per command-line option: ``batch_size = 256``,
``objective_option = ["mip.num_negatives=8"]``) are still read: their keys are the options' names and the
command line parses them (``ssrec.cli``). Each run folder gets its spec (``config.toml`` for ``ssrec run``,
``pretrain-config.toml`` and ``finetune-config.toml`` for the single stages), so the folder alone repeats
the run.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

from ssrec.atomic import atomic_write_text
from ssrec.runs.spec import RunSpec, SpecError, spec_from_dict, spec_to_dict

#: options that say how to run, not what: refused in a file
NOT_SAVED = frozenset({"func", "config", "quiet", "verbose", "resume", "overwrite", "command", "help", "threads"})


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


SPEC_TABLES = ("data", "backbone", "pretrain", "finetune", "protocol")


def read_toml(path: Path, what: str, error: type[ValueError] | None = None) -> dict[str, Any]:
    """The tables of a TOML file; a missing or malformed file raises ``error`` (``ConfigError``) naming it."""
    error = error or ConfigError
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not a TOML file ({exc})") from None


def read_config(path: str | Path, command: str) -> tuple[RunSpec | None, dict[str, Any]]:
    """Read a config file for ``command``: ``(spec, {})`` for a spec file, ``(None, flat options)`` for a file
    written before run specs (its options are then checked by ``apply_flat_config``)."""
    path = Path(path)
    values = read_toml(path, "config")
    written_by = values.pop("command", command)
    if written_by != command:
        raise ConfigError(f"{path}: a config of `ssrec {written_by}`, not of `ssrec {command}`; "
                          f"run `ssrec {written_by} --config {path}`")
    if not any(isinstance(values.get(table), dict) for table in SPEC_TABLES):
        return None, values
    try:
        return spec_from_dict(values, where=str(path)), {}
    except SpecError as exc:
        raise ConfigError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from None


def write_config(path: str | Path, spec: RunSpec, command: str) -> None:
    """Write ``spec`` as the TOML file that ``ssrec COMMAND --config`` reads back into the same spec, atomically."""
    plain = spec_to_dict(spec)
    lines = [f"# ssrec run spec: repeat with `ssrec {command} --config THIS_FILE`", f"command = {_toml_value(command)}"]
    lines += [f"{key} = {_toml_value(plain[key])}" for key in plain if not isinstance(plain[key], dict)]
    for table in SPEC_TABLES:
        if table in plain:
            lines += ["", f"[{table}]"] + [f"{key} = {_toml_value(value)}" for key, value in plain[table].items()]
    atomic_write_text(path, "\n".join(lines) + "\n")


def apply_flat_config(parser: argparse.ArgumentParser, command: str, path: str | Path,
                      values: dict[str, Any]) -> None:
    """Make the options of a flat (pre-spec) config file the defaults of ``command``'s ``parser``."""
    path = Path(path)
    actions = {a.dest: a for a in parser._actions if a.dest not in NOT_SAVED}
    defaults = {}
    for key, value in values.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            raise ConfigError(f"{path}: unknown key {key!r} for `ssrec {command}`; known keys: "
                              + ", ".join(sorted(actions)))
        defaults[dest] = _checked(path, key, actions[dest], value)
        actions[dest].required = False  # given by the file
    parser.set_defaults(**defaults)


def _checked(path: Path, key: str, action: argparse.Action, value: Any) -> Any:
    """``value`` converted to what ``action`` would produce from the command line, or a ConfigError."""
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{path}: {key} = {value!r}: expected {expected}")

    if isinstance(action, argparse._StoreConstAction) and not isinstance(action, argparse._AppendConstAction):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if isinstance(action, argparse._AppendAction):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise fail('a list of strings, e.g. ["KEY=VALUE"]')
        return value
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        raise fail(f"a single {getattr(action.type, '__name__', 'str')} value")
    if action.type is float and isinstance(value, int):
        value = float(value)
    elif action.type in (int, float) and not isinstance(value, action.type):
        raise fail(f"a{'n integer' if action.type is int else ' number'}")
    elif action.type is None and not isinstance(value, str):
        raise fail("a string")
    if action.choices is not None and value not in action.choices:
        raise fail("one of " + ", ".join(map(str, action.choices)))
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to a config file")
