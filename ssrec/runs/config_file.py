"""Config files: a training command's options in a TOML file, read with ``--config`` and saved in every run.

    ssrec pretrain --config lastfm.toml                  # every option may come from the file
    ssrec run --config runs/x/config.toml --out runs/y   # the command line overrides the file

A file holds ``command = "run"`` (or pretrain, finetune, evaluate) and one key per option, named as the
option without dashes (``batch_size`` or ``batch-size``), typed as TOML: ``epochs = 10``,
``bucketing = false``, ``objective_option = ["mip.num_negatives=8"]``. Unknown keys, wrong types and
values outside an option's choices are errors naming the file and the key. Each run folder gets the
effective configuration (``config.toml`` for ``ssrec run``, ``pretrain-config.toml`` and
``finetune-config.toml`` for the single stages), so the folder alone repeats the run.
"""
from __future__ import annotations

import argparse
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from ssrec.io.checkpoint import atomic_write

#: options that say how to run, not what: never saved, refused in a file
NOT_SAVED = frozenset({"func", "config", "quiet", "verbose", "resume", "overwrite", "command", "help", "effective"})


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def config_name(command: str) -> str:
    """The file a run folder keeps ``command``'s effective configuration in."""
    return "config.toml" if command == "run" else f"{command}-config.toml"


def apply_config(parser: argparse.ArgumentParser, command: str, path: str | Path) -> None:
    """Make the options of the TOML file ``path`` the defaults of ``command``'s ``parser``."""
    path = Path(path)
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a TOML file ({exc})") from None
    written_by = values.pop("command", command)
    if written_by != command:
        raise ConfigError(f"{path}: a config of `ssrec {written_by}`, not of `ssrec {command}`; "
                          f"run `ssrec {written_by} --config {path}`")
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

    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
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


def effective_config(args: argparse.Namespace) -> dict[str, Any]:
    """The options of a parsed command line that define the run (None values are the defaults: left out)."""
    return {"command": args.command, **{k: v for k, v in sorted(vars(args).items())
                                        if k not in NOT_SAVED and v is not None}}


def write_config(path: str | Path, config: dict[str, Any]) -> None:
    """Write ``config`` (str, bool, int, float and lists of str) as TOML, atomically."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in config.items()]
    text = "# ssrec effective configuration: repeat with `ssrec {0} --config THIS_FILE`\n".format(
        config.get("command", "COMMAND")) + "\n".join(lines) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a config file")
