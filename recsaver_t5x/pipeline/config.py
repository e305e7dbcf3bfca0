"""The run file (TOML) that drives `recsaver run`, checked whole before anything runs.

Paths in a run file (`run_dir`, `data_root`, `[tasks] vocabulary`) resolve against the run file's
own directory; `[[domains]]` files against `data_root` (RECSAVER_DATA overrides it).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import pathlib
import tomllib
from typing import Any, Mapping, Optional

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.pipeline import cli_args

DEFAULT_CONFIG = pathlib.Path(__file__).resolve().parents[1] / "configs" / "demo.toml"


@dataclasses.dataclass(frozen=True)
class Section:
  """What a run-file section may hold: the flags of `commands`, plus `keys` the stage reads itself.

  `keys` values are a type name ('str', 'int', 'float', 'bool', 'table', 'list[str]') or a tuple
  of allowed strings; `prefix` maps `servers` to `--teacher-servers`; `gin`: keys are the gin
  macros of the packaged gin files (T5X names) or `Configurable.param` bindings.
  """
  commands: tuple[str, ...] = ()
  keys: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  prefix: str = ""
  gin: bool = False


DOMAIN_KEYS = {"name": "str", "wording": "str", "reviews": "list[str]", "meta": "list[str]"}
STUDENT_KEYS = {"name": "str", "task": "str", "eval_task": "str", "label": "str", "gin": "table",
                "targets": ("rating", "reason"), "eval": ("evaluate", "exp3rt")}
TOP_KEYS = {"run_dir": "str", "data_root": "str"}


@dataclasses.dataclass(frozen=True)
class DomainSpec:
  name: str
  wording: str
  reviews: tuple[str, ...]
  meta: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RunConfig:
  path: str
  run_dir: str
  domains: tuple[DomainSpec, ...]
  sections: dict  # every other table (or array of tables) of the file, by name

  def section(self, name: str) -> Any:
    """A copy of a section: a dict for [name], a list for [[name]], {} when absent."""
    return copy.deepcopy(self.sections.get(name, {}))

  def students(self) -> list[dict]:
    return self.section("students") or []


def _type_error(value: Any, spec: Any) -> Optional[str]:
  if isinstance(spec, tuple):
    return None if value in spec else f"must be one of {', '.join(spec)}, got {value!r}"
  ok = {"str": isinstance(value, str), "bool": isinstance(value, bool), "table": isinstance(value, dict),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "str or list[str]": isinstance(value, str) or isinstance(value, list) and all(isinstance(v, str) for v in value)}[spec]
  wanted = {"str": "a string", "bool": "true or false", "table": "a table", "int": "an integer",
            "float": "a number", "list[str]": "a list of strings", "str or list[str]": "a string or a list of strings"}[spec]
  return None if ok else f"must be {wanted}, got {value!r}"


def _check_keys(where: str, entry: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
  for key, value in entry.items():
    if key not in spec:
      raise UserFacingError(f"{where}: unknown key '{key}'{cli_args.did_you_mean(key, spec)}")
    why = _type_error(value, spec[key])
    if why:
      raise UserFacingError(f"{where}: '{key}' {why}")


def check_section(path: str, name: str, body: Any, spec: Section) -> None:
  """One line naming file, section and key for an unknown key or a value of the wrong type."""
  where = f"{path}: [{name}]"
  if not isinstance(body, dict):
    raise UserFacingError(f"{where} must be a table ([{name}]), not an array or a value")
  known = set(spec.keys)
  for key, value in body.items():
    if key in spec.keys:
      _check_keys(where, {key: value}, spec.keys)
      continue
    if spec.gin:
      if "." in key or key in cli_args.gin_macros():
        continue
      raise UserFacingError(f"{where}: '{key}' is no gin macro of the packaged gin files"
                            f"{cli_args.did_you_mean(key, cli_args.gin_macros() | known)}")
    actions = [a for c in spec.commands if (a := cli_args._lookup(c, key, spec.prefix))]  # pylint: disable=protected-access
    if not actions:
      flags = {k[len(spec.prefix):] if k.startswith(spec.prefix) else k
               for c in spec.commands for k in cli_args.options(c)}
      owner = f" (no flag of recsaver {'/'.join(spec.commands)})" if spec.commands else ""
      raise UserFacingError(f"{where}: unknown key '{key}'{owner}"
                            f"{cli_args.did_you_mean(key, flags | known)}")
    why = cli_args.check_value(actions[0], value)
    if why:
      raise UserFacingError(f"{where}: '{key}' {why}")
  if spec.gin:
    _check_gin_values(where, body)


def _check_gin_values(where: str, bindings: Mapping[str, Any]) -> None:
  """The values `recsaver train` checks after parsing gin, checked here before any stage runs."""
  from recsaver_t5x.trainer.gin_utils import macro_problems  # pylint: disable=import-outside-toplevel
  problems = macro_problems(bindings)
  if problems:
    raise UserFacingError(f"{where}: invalid gin values: {'; '.join(problems)}")


def _resolve(base: pathlib.Path, p: str) -> str:
  q = pathlib.Path(p).expanduser()
  return str(q if q.is_absolute() else base / q)


def load_run_config(path: Optional[str], sections: Mapping[str, Section],
                    run_dir: Optional[str] = None) -> RunConfig:
  """Reads and checks a run file against the stages' `sections`; RECSAVER_DATA overrides data_root."""
  path = str(path or DEFAULT_CONFIG)
  try:
    with open(path, "rb") as f:
      # A BOM (files saved by Notepad) is not TOML; a non-UTF-8 byte names the file (errors.one_line).
      raw = tomllib.loads(f.read().removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
  except FileNotFoundError:
    raise UserFacingError(f"{path}: no such run file") from None
  except tomllib.TOMLDecodeError as e:
    raise UserFacingError(f"{path}: not valid TOML ({e})") from None
  entries = {"domains": DOMAIN_KEYS, "students": STUDENT_KEYS}
  for key, value in raw.items():
    if key in TOP_KEYS:
      _check_keys(path, {key: value}, TOP_KEYS)
    elif key in entries:
      if not isinstance(value, list):
        raise UserFacingError(f"{path}: '{key}' must be an array of tables ([[{key}]])")
      for i, e in enumerate(value):
        _check_keys(f"{path}: [[{key}]] entry {i + 1}", e, entries[key])
    elif key in sections:
      check_section(path, key, value, sections[key])
    else:
      raise UserFacingError(f"{path}: unknown top-level key or section '{key}'"
                            f"{cli_args.did_you_mean(key, [*TOP_KEYS, *entries, *sections])}")
  for i, s in enumerate(raw.get("students", [])):
    for key in ("name", "task") + (() if s.get("eval") == "exp3rt" else ("eval_task",)):
      if key not in s:
        raise UserFacingError(f"{path}: [[students]] entry {i + 1} lacks '{key}'")
    _check_gin_values(f"{path}: [[students]] entry {i + 1}: gin", s.get("gin", {}))
  base = pathlib.Path(path).resolve().parent
  root = pathlib.Path(os.environ.get("RECSAVER_DATA") or _resolve(base, raw.get("data_root", ".")))
  domains = []
  for i, d in enumerate(raw.get("domains", [])):
    for key in ("name", "reviews"):
      if key not in d:
        raise UserFacingError(f"{path}: [[domains]] entry {i + 1} lacks '{key}'")
    domains.append(DomainSpec(d["name"], d.get("wording", d["name"]),
                              tuple(_resolve(root, p) for p in d["reviews"]),
                              tuple(_resolve(root, p) for p in d.get("meta", []))))
  if not domains:
    raise UserFacingError(f"{path}: no [[domains]] entries")
  body = {k: v for k, v in raw.items() if k in sections}
  if "vocabulary" in body.get("tasks", {}):
    body["tasks"]["vocabulary"] = _resolve(base, body["tasks"]["vocabulary"])
  run_dir = os.path.abspath(run_dir) if run_dir else _resolve(base, raw.get("run_dir", "runs/default"))
  return RunConfig(path, run_dir, tuple(domains), {**body, "students": raw.get("students", [])})
