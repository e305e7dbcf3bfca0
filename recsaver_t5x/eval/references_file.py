"""Reading a `recsaver references` file: the texts that reasoning metrics score against.

Written by `recsaver_t5x.recsaver.references.write_references`; read here, below every user
(`recsaver evaluate --references`, `recsaver reasoning-metrics`, the SeqIO eval tasks).
"""
from __future__ import annotations

import os

from recsaver_t5x import shapes
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.jsonl import iter_json_objects
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale


def load_references(path: str, verified: bool = True) -> dict[str, list[str]]:
  """example_id -> references (verified by default; `verified=False`: every cleaned one).

  Examples with 0 references are kept as empty lists so that scorers can count them.
  """
  if not os.path.isfile(path):
    raise UserFacingError(f"{path}: no such references file (run `recsaver references`)")
  field = "references" if verified else "unverified_references"
  out: dict[str, list[str]] = {}
  for n, obj in iter_json_objects(path):
    if "example_id" not in obj:
      raise InputError(path, "not a reference record", line=n, field="example_id")
    refs = obj.get(field)
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
      raise InputError(path, "must be a list of strings", line=n, field=field)
    out[str(obj["example_id"])] = refs
  return out


def load_ratings(path: str, scale: RatingScale = DEFAULT_SCALE) -> dict[str, int]:
  """example_id -> true rating, from a references file (a rating off `scale` names its line).

  Files of the previous release name it "rating" (accepted for one release)."""
  out = {}
  for n, obj in iter_json_objects(path):
    key = "true_rating" if "true_rating" in obj else "rating"
    if key in obj:
      out[str(obj["example_id"])] = shapes.as_int(path, key, obj[key], scale.low, scale.high,
                                                  line=n)
  return out
