"""The run file (TOML) that drives `recsaver run`: one section per stage, one entry per domain."""
from __future__ import annotations

import copy
import dataclasses
import os
import pathlib
import tomllib
from typing import Any, Optional

from recsaver_t5x.errors import UserFacingError

DEFAULT_CONFIG = pathlib.Path(__file__).resolve().parents[1] / "configs" / "demo.toml"
# A checkout sits beside shared/ (the data); relative data roots resolve against its parent.
_REPO_PARENT = pathlib.Path(__file__).resolve().parents[3]


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
  sections: dict  # every other table (or array of tables) of the file, by stage name

  def section(self, name: str) -> Any:
    """A copy of a section: a dict for [name], a list for [[name]], {} when absent."""
    return copy.deepcopy(self.sections.get(name, {}))


def load_run_config(path: Optional[str] = None, run_dir: Optional[str] = None) -> RunConfig:
  """Reads a run file; RECSAVER_DATA overrides its data_root."""
  path = str(path or DEFAULT_CONFIG)
  try:
    with open(path, "rb") as f:
      raw = tomllib.load(f)
  except FileNotFoundError:
    raise UserFacingError(f"{path}: no such run file") from None
  except tomllib.TOMLDecodeError as e:
    raise UserFacingError(f"{path}: not valid TOML ({e})") from None
  root = pathlib.Path(os.environ.get("RECSAVER_DATA") or raw.get("data_root", "."))
  if not root.is_absolute():
    root = _REPO_PARENT / root
  domains = []
  for i, d in enumerate(raw.get("domains", [])):
    for key in ("name", "reviews"):
      if key not in d:
        raise UserFacingError(f"{path}: [[domains]] entry {i + 1} lacks '{key}'")
    domains.append(DomainSpec(d["name"], d.get("wording", d["name"]),
                              tuple(str(root / p) for p in d["reviews"]),
                              tuple(str(root / p) for p in d.get("meta", []))))
  if not domains:
    raise UserFacingError(f"{path}: no [[domains]] entries")
  sections = {k: v for k, v in raw.items() if isinstance(v, (dict, list)) and k != "domains"}
  return RunConfig(path, run_dir or raw.get("run_dir", "runs/default"), tuple(domains), sections)
