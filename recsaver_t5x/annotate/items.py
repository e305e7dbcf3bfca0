"""Items of a human study: which reasoning texts raters judge, sampled from student predictions.

An item is one prediction (model, example) with its reasoning text (the explanation, rating
removed) and the example's prompt data. Sampling is balanced over strata (model x correct /
incorrect prediction, as the study's Table 13 needs): the K items are dealt round-robin over the
strata, each stratum shuffled with the seed. An example id is used once over all models, since
`recsaver alignment` keys items by (example_id, sample_index).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import random
from typing import Any, Optional, Sequence

from recsaver_t5x import shapes
from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.answer import parse_answer


@dataclasses.dataclass(frozen=True)
class Item:
  item_id: str
  model: str
  example_id: str
  sample_index: int
  reasoning: str
  correct: bool
  true_rating: int
  predicted_rating: Optional[int]
  example: dict  # Example.to_dict(): history and new item, shown to raters (not its rating)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: dict) -> "Item":
    return cls(**d)


def find_inputs(paths: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
  """(model, predictions file) pairs and example files from run dirs and/or files.

  A run dir contributes `eval/<student>/predictions_*.jsonl` (model = student) and
  `prepared/<domain>/*.jsonl`; a predictions file's model is its directory's name.
  """
  preds, examples = [], []
  for p in paths:
    if os.path.isdir(p):
      found = sorted(glob.glob(os.path.join(p, "eval", "*", "predictions_*.jsonl")))
      if not found:
        raise UserFacingError(f"{p}: no eval/<student>/predictions_*.jsonl in this run dir")
      preds += [(os.path.basename(os.path.dirname(f)), f) for f in found]
      examples += sorted(glob.glob(os.path.join(p, "prepared", "*", "*.jsonl")))
    elif os.path.isfile(p):
      preds.append((os.path.basename(os.path.dirname(os.path.abspath(p))), p))
    else:
      raise UserFacingError(f"{p}: no such file or run dir")
  return preds, examples


def load_examples(paths: Sequence[str]) -> dict[str, Example]:
  out: dict[str, Example] = {}
  for p in paths:
    if os.path.isdir(p):
      for f in sorted(glob.glob(os.path.join(p, "*.jsonl"))):
        out.update({e.example_id: e for e in data_io.read_examples(f)})
    else:
      out.update({e.example_id: e for e in data_io.read_examples(p)})
  return out


def candidates(preds: Sequence[tuple[str, str]], examples: dict[str, Example]) -> list[Item]:
  """Every prediction with a non-empty reasoning text whose example is known."""
  out = []
  for model, path in preds:
    for line, d in data_io.iter_json_objects(path):
      for field in ("example_id", "text"):
        if field not in d:
          raise InputError(path, "missing value (required)", line=line, field=field)
      ex = examples.get(d["example_id"])
      if ex is None:
        raise InputError(path, f"example '{d['example_id']}' is in none of the example files "
                         "(give the prepared split with --examples)", line=line, field="example_id")
      reasoning = (parse_answer(d["text"]).explanation or "").strip()
      if not reasoning:
        continue
      true = shapes.as_int(path, "true_rating", d.get("true_rating", ex.true_rating), line=line)
      key = "predicted_rating" if "predicted_rating" in d else "rating"
      pred = d.get(key)  # null: the student's rating did not parse (an incorrect prediction)
      pred = shapes.as_int(path, key, pred, line=line) if pred is not None else None
      index = shapes.as_int(path, "sample_index", d.get("sample_index", 0) or 0, low=0, line=line)
      out.append(Item("", model, ex.example_id, index, reasoning, pred == true, true, pred,
                      ex.to_dict()))
  return out


def sample_items(pool: Sequence[Item], k: int, seed: int = 0) -> list[Item]:
  """K items balanced over (model, correct) strata; each example id at most once."""
  strata: dict[tuple[str, bool], list[Item]] = {}
  for it in pool:
    strata.setdefault((it.model, it.correct), []).append(it)
  rng = random.Random(seed)
  order = sorted(strata)
  for key in order:
    rng.shuffle(strata[key])
  chosen, used = [], set()
  while len(chosen) < k and any(strata[s] for s in order):
    for key in order:
      while strata[key] and strata[key][0].example_id in used:
        strata[key].pop(0)
      if strata[key] and len(chosen) < k:
        it = strata[key].pop(0)
        used.add(it.example_id)
        chosen.append(it)
  if len(chosen) < k:
    raise UserFacingError(f"only {len(chosen)} distinct examples with reasoning are available; "
                          f"lower --items (asked {k})")
  return [dataclasses.replace(it, item_id=f"i{n:03d}") for n, it in enumerate(chosen)]


def rater_order(items: Sequence[Item], rater: str, seed: int) -> list[str]:
  """A rater's own random order of the item ids (stable for a study)."""
  ids = [it.item_id for it in items]
  random.Random(f"{seed}:{rater}").shuffle(ids)
  return ids
