"""The files of one domain's EXP3RT directory (written atomically, read by every later step).

    config.json       caps, criterion, rating scale, budgets, teacher model (from `preferences`)
    selection.jsonl   per example: the user reviews and item candidates it may use
    preferences.jsonl per review: the extracted [Like]/[Dislike] preferences
    profiles.jsonl    per example: user and item profiles (bullets), their reviews and ratings
    rationales.jsonl  per training example: rationale, cleaned text, verification status
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

from recsaver_t5x import shapes
from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import InputError, UserFacingError

CONFIG = "config.json"
SELECTION = "selection.jsonl"
PREFERENCES = "preferences.jsonl"
PROFILES = "profiles.jsonl"
RATIONALES = "rationales.jsonl"


def path(out_dir: str, name: str) -> str:
  return os.path.join(out_dir, name)


def write_jsonl(file_path: str, rows: Iterable[dict[str, Any]]) -> int:
  """Writes all rows to a temporary file, then renames it over `file_path` (atomic)."""
  os.makedirs(os.path.dirname(os.path.abspath(file_path)), exist_ok=True)
  tmp = file_path + ".tmp"
  n = 0
  with open(tmp, "w", encoding="utf-8") as f:
    for r in rows:
      f.write(json.dumps(r, ensure_ascii=False) + "\n")
      n += 1
  os.replace(tmp, file_path)
  return n


# The keys every later step reads from a record of each file (a missing one names file, line, key).
REQUIRED = {
    SELECTION: ("example_id", "split", "user_id", "asin", "timestamp", "true_rating", "user_ids",
                "item_ids"),
    PREFERENCES: ("review_id",),
    PROFILES: ("example_id", "split", "asin", "true_rating"),
    RATIONALES: ("example_id", "status"),
}


def read_jsonl(file_path: str, step: str) -> Iterator[dict[str, Any]]:
  if not os.path.isfile(file_path):
    raise UserFacingError(f"{file_path}: missing; run `recsaver {step}` first")
  required = REQUIRED.get(os.path.basename(file_path), ())
  for line, obj in data_io.iter_json_objects(file_path):
    for key in required:
      if key not in obj:
        raise InputError(file_path, f"missing (required; written by `recsaver {step}`)",
                         line=line, field=key)
    yield obj


def read_config(out_dir: str) -> dict[str, Any]:
  """config.json, checked whole: the later steps take its parts apart without further checks."""
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.exp3rt.prompts import PromptBudget
  from recsaver_t5x.exp3rt.selection import SelectionConfig
  p = path(out_dir, CONFIG)
  if not os.path.isfile(p):
    raise UserFacingError(f"{p}: missing; run `recsaver preferences` first")
  cfg = data_io.read_json_object(p)
  for key in ("domain", "selection", "budget", "scale", "extract"):
    if key not in cfg:
      raise InputError(p, "missing (required; written by `recsaver preferences`)", field=key)
  shapes.as_str(p, "domain", cfg.get("domain"))
  shapes.as_dataclass(p, "selection", SelectionConfig, cfg.get("selection"))
  shapes.as_dataclass(p, "budget", PromptBudget, cfg.get("budget"))
  shapes.as_scale(p, "scale", cfg.get("scale"))
  extract = shapes.as_object(p, "extract", cfg.get("extract"))
  shapes.as_int(p, "extract.base_seed", extract.get("base_seed"))
  return cfg


def write_config(out_dir: str, cfg: dict[str, Any]) -> None:
  os.makedirs(out_dir, exist_ok=True)
  data_io.write_json_atomic(path(out_dir, CONFIG), cfg)
