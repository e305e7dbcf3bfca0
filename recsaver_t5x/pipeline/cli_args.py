"""Run-file sections <-> the flags of the `recsaver` subcommands, and the child process that runs them.

A section's keys are the flags of its subcommand(s): `max_tokens = 200` is `--max-tokens 200`
(or `--max_tokens`, whichever spelling the command has). The subcommand's own argparse parser is
the schema: it says which keys exist and what type each takes, so the run file is checked by the
same rules as the command line, before anything runs.
"""
from __future__ import annotations

import argparse
import difflib
import functools
import importlib
import os
import re
import shlex
import subprocess
import sys
from typing import Any, Iterable, Mapping, Optional

from recsaver_t5x.errors import UserFacingError

_GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "gin")


def _norm(option: str) -> str:
  return option.lstrip("-").replace("-", "_")


@functools.lru_cache(maxsize=None)
def options(command: str) -> dict[str, argparse.Action]:
  """{key: action} of `recsaver <command>`'s optional flags ('max_tokens' for --max-tokens)."""
  from recsaver_t5x.cli import COMMANDS  # pylint: disable=import-outside-toplevel
  parser = argparse.ArgumentParser(prog=f"recsaver {command}")
  importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
  out = {}
  for action in parser._actions:  # pylint: disable=protected-access
    for opt in action.option_strings:
      if opt.startswith("--") and action.dest != "help":
        out.setdefault(_norm(opt), action)
  return out


def _lookup(command: str, key: str, prefix: str) -> Optional[argparse.Action]:
  opts = options(command)
  return opts.get(prefix + key) or opts.get(key)


def did_you_mean(key: str, known: Iterable[str]) -> str:
  close = difflib.get_close_matches(key, list(known), n=1)
  return f" (did you mean '{close[0]}'?)" if close else ""


def check_value(action: argparse.Action, value: Any) -> Optional[str]:
  """Why `value` (from TOML) cannot be given to this flag, or None."""
  if isinstance(value, dict):
    return "must be a value, not a table"
  if action.nargs == 0:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
  if isinstance(value, bool):
    return f"takes a value, not {str(value).lower()}"
  if action.type in (None, str) and not isinstance(value, (str, list)):
    return f"must be a string or a list, got {value!r}"
  if isinstance(value, list) and getattr(action.type, "comma_list", False):
    value = ",".join(map(str, value))  # to_flags passes a list to such a flag this way
  items = value if isinstance(value, list) else [value]
  if isinstance(value, list) and action.type not in (None, str) and action.nargs not in ("+", "*") \
      and not isinstance(action, argparse._AppendAction):  # pylint: disable=protected-access
    return f"must be a single value, got a list {value!r}"
  for item in items:
    try:
      parsed = action.type(str(item)) if action.type else str(item)
    except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
      return str(e) or f"invalid value {item!r}"
    if action.choices is not None and parsed not in action.choices:
      return f"must be one of {', '.join(map(str, action.choices))}, got {item!r}"
  return None


def to_flags(command: str, section: Mapping[str, Any], prefix: str = "",
             only_known: bool = False) -> list[str]:
  """{'max_tokens': 200, 'json_schema': True, 'variants': ['a', 'b']} -> flags of `command`.

  `prefix` maps [teacher]'s `servers` to `--teacher-servers`; `only_known` skips keys the
  command lacks (a section shared by several commands, checked as a whole beforehand).
  """
  out: list[str] = []
  for key, value in section.items():
    action = _lookup(command, key, prefix)
    if action is None:
      if only_known:
        continue
      raise UserFacingError(f"recsaver {command} has no flag for '{key}'{did_you_mean(key, options(command))}")
    flag = next(o for o in action.option_strings if o.startswith("--"))
    if action.nargs == 0:
      if isinstance(action, argparse.BooleanOptionalAction):
        out.append(flag if value else "--no-" + flag[2:])
      elif value:
        out.append(flag)
    elif isinstance(value, list) and (action.nargs in ("+", "*")):
      out += [flag, *map(str, value)]
    elif isinstance(value, list) and isinstance(action, argparse._AppendAction):  # pylint: disable=protected-access
      for v in value:
        out += [flag, str(v)]
    elif isinstance(value, list):
      out += [flag, ",".join(map(str, value))]
    else:
      out += [flag, str(value)]
  return out


@functools.lru_cache(maxsize=None)
def gin_macros() -> frozenset[str]:
  """Every macro (`NAME = ...`) the packaged gin files define: the keys [train] may set."""
  names = set()
  for root, _, files in os.walk(_GIN_DIR):
    for f in files:
      if f.endswith(".gin"):
        with open(os.path.join(root, f), encoding="utf-8") as fh:
          names |= set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", fh.read(), re.M))
  return frozenset(names)


def run_subcommand(argv: list[str]) -> None:
  """Runs `recsaver <argv>` as a child process; a non-zero exit stops the pipeline.

  A process per command keeps gin's and SeqIO's global registries, and JAX's device memory,
  from leaking between stages; it is also exactly what a user would type.
  """
  print("  $ recsaver " + " ".join(shlex.quote(a) for a in argv), flush=True)
  code = subprocess.call([sys.executable, "-m", "recsaver_t5x.cli", *argv])
  if code:
    raise UserFacingError(f"stage command failed (exit {code}): recsaver {' '.join(argv)}")
