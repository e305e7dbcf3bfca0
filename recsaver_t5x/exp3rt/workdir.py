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

from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import UserFacingError

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


def read_jsonl(file_path: str, step: str) -> Iterator[dict[str, Any]]:
  if not os.path.isfile(file_path):
    raise UserFacingError(f"{file_path}: missing; run `recsaver {step}` first")
  for _, obj in data_io.iter_json_objects(file_path):
    yield obj


def read_config(out_dir: str) -> dict[str, Any]:
  p = path(out_dir, CONFIG)
  if not os.path.isfile(p):
    raise UserFacingError(f"{p}: missing; run `recsaver preferences` first")
  with open(p, encoding="utf-8") as f:
    return json.load(f)


def write_config(out_dir: str, cfg: dict[str, Any]) -> None:
  os.makedirs(out_dir, exist_ok=True)
  data_io.write_json_atomic(path(out_dir, CONFIG), cfg)
