"""A study on disk: `study.json` (items, raters and their links, orders) and `annotations.jsonl`.

`annotations.jsonl` is exactly what `recsaver alignment` reads: one object per (rater, item)
with annotator, example_id, sample_index, coherence, faithfulness, insightfulness, error_types,
correct (plus model, item_id and the ratings, which alignment ignores or uses for correctness).
Each submission rewrites it atomically (temp file, fsync, rename) before the rater gets the
next item, so closing the browser or killing the server loses nothing submitted; a rater who
revises an item replaces their earlier answer (the file never holds duplicates).
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from typing import Optional, Sequence

from recsaver_t5x.annotate.items import Item, rater_order
from recsaver_t5x import shapes
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.jsonl import read_json_object
from recsaver_t5x.recsaver import alignment

ERROR_TYPES = ("incorrect product statistics", "incorrect product information",
               "arithmetic errors", "other")
STUDY_FILE, ANNOTATIONS_FILE = "study.json", "annotations.jsonl"


class Study:
  """Thread-safe access to one study directory."""

  def __init__(self, directory: str, data: dict):
    self.directory = directory
    self.data = data
    self.items = {d["item_id"]: Item.from_dict(d) for d in data["items"]}
    self._lock = threading.Lock()
    self.answers: dict[tuple[str, str], dict] = {}
    path = self.annotations_path
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        for line in f:
          if line.strip():
            a = json.loads(line)
            self.answers[(a["annotator"], a["item_id"])] = a

  # ---- creation / loading
  @classmethod
  def create_or_open(cls, directory: str, items: Optional[Sequence[Item]], raters: Sequence[str],
                     seed: int) -> "Study":
    """Opens `directory/study.json` if it exists (resume), else creates it from `items`."""
    path = os.path.join(directory, STUDY_FILE)
    if os.path.exists(path):
      data = read_json_object(path)
      for key in ("raters", "items", "orders", "organiser_token"):
        if key not in data:
          raise InputError(path, "missing (required): not a study file of `recsaver annotate`",
                           field=key)
      with shapes.reading(path):
        have = [r["name"] for r in shapes.as_list(path, "raters", data["raters"], dict)]
      if list(raters) != have:
        raise UserFacingError(f"{path}: this study has raters {have}; to change them start a "
                              "new study (another --out)")
      return cls(directory, data)
    if items is None:
      raise UserFacingError(f"{path}: no study here yet")
    os.makedirs(directory, exist_ok=True)
    data = {"created": time.time(), "seed": seed,
            "organiser_token": secrets.token_urlsafe(12),
            "raters": [{"name": r, "token": secrets.token_urlsafe(12)} for r in raters],
            "items": [it.to_dict() for it in items],
            "orders": {r: rater_order(items, r, seed) for r in raters}}
    _write_atomic(path, json.dumps(data, indent=1))
    return cls(directory, data)

  @property
  def annotations_path(self) -> str:
    return os.path.join(self.directory, ANNOTATIONS_FILE)

  def rater_by_token(self, token: str) -> Optional[str]:
    for r in self.data["raters"]:
      if secrets.compare_digest(r["token"], token):
        return r["name"]
    return None

  def is_organiser(self, token: str) -> bool:
    return secrets.compare_digest(self.data["organiser_token"], token)

  # ---- rater view
  def order(self, rater: str) -> list[str]:
    return self.data["orders"][rater]

  def done(self, rater: str) -> list[str]:
    return [i for i in self.order(rater) if (rater, i) in self.answers]

  def next_item(self, rater: str) -> Optional[str]:
    return next((i for i in self.order(rater) if (rater, i) not in self.answers), None)

  def public_item(self, rater: str, item_id: str) -> dict:
    """What a rater may see: the prompt data and the reasoning, never a rating of the new item
    nor the model or its correctness."""
    it = self.items[item_id]
    ex = dict(it.example)
    ex.pop("rating", None)
    order = self.order(rater)
    return {"item_id": item_id, "position": order.index(item_id) + 1, "total": len(order),
            "done": len(self.done(rater)), "reasoning": it.reasoning,
            "history": ex["history"], "target": ex["target"], "domain": ex.get("domain"),
            "answer": self._public_answer(self.answers.get((rater, item_id)))}

  @staticmethod
  def _public_answer(a: Optional[dict]) -> Optional[dict]:
    if a is None:
      return None
    return {k: a[k] for k in ("coherence", "faithfulness", "insightfulness", "error_types")}

  # ---- submissions
  def submit(self, rater: str, item_id: str, answer: dict) -> None:
    """Validates and persists one answer (replacing the rater's earlier one for the item)."""
    if item_id not in self.items or item_id not in self.order(rater):
      raise ValueError(f"unknown item {item_id!r}")
    coherence = _int(answer, "coherence", (1, 2, 3, 4, 5))
    faithfulness = _int(answer, "faithfulness", (0, 1))
    insightfulness = _int(answer, "insightfulness", (1, 2, 3, 4, 5))
    errors = answer.get("error_types") or []
    if not isinstance(errors, list) or any(e not in ERROR_TYPES for e in errors):
      raise ValueError(f"error_types: a list of {', '.join(ERROR_TYPES)}")
    it = self.items[item_id]
    row = {"annotator": rater, "example_id": it.example_id, "sample_index": it.sample_index,
           "coherence": coherence, "faithfulness": faithfulness,
           "insightfulness": insightfulness, "error_types": sorted(set(errors)),
           "correct": int(it.correct), "model": it.model, "item_id": item_id,
           "predicted_rating": it.predicted_rating, "true_rating": it.true_rating,
           "submitted_at": round(time.time(), 3)}
    with self._lock:
      self.answers[(rater, item_id)] = row
      rows = sorted(self.answers.values(), key=lambda a: (a["annotator"], a["item_id"]))
      _write_atomic(self.annotations_path, "".join(json.dumps(r) + "\n" for r in rows))

  # ---- organiser view
  def progress(self) -> list[dict]:
    return [{"rater": r["name"], "done": len(self.done(r["name"])),
             "total": len(self.order(r["name"]))} for r in self.data["raters"]]

  def complete(self) -> bool:
    return all(p["done"] == p["total"] for p in self.progress())

  def agreement(self) -> Optional[alignment.Table]:
    """Table 6 of `recsaver alignment` (mean scores, kappa, Spearman) on the answers so far."""
    if not self.answers:
      return None
    anns = alignment.read_annotations(self.annotations_path)
    return alignment.agreement_table(anns)


def _int(answer: dict, field: str, allowed: tuple[int, ...]) -> int:
  v = answer.get(field)
  if isinstance(v, bool) or not isinstance(v, int) or v not in allowed:
    raise ValueError(f"{field}: one of {', '.join(map(str, allowed))}")
  return v


def _write_atomic(path: str, text: str) -> None:
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
  with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)
