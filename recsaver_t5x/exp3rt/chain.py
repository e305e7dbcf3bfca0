"""Chained student inference (EXP3RT at test time): the student's own extractions -> its own
user and item profiles -> its rating; or, with `teacher_profiles=True`, the teacher's profiles
(ablation). Read-outs: parsed, argmax and expected (`readout`).

The reviews each step may read are those of the directory's selection (`selection.jsonl`), so the
leakage rule is the one the teacher profiles obeyed.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from recsaver_t5x.data.records import Item
from recsaver_t5x.exp3rt import bullets, profiles as profiles_lib, prompts, rationales, readout
from recsaver_t5x.exp3rt.selection import Selection, SelectionConfig
from recsaver_t5x.exp3rt.student import Student
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.scale import RatingScale


@dataclasses.dataclass(frozen=True)
class ChainInputs:
  """Everything the chain reads for one domain."""

  selections: Sequence[Selection]
  preferences: Mapping[str, dict]  # teacher's, for prompts (review text) and ratings
  teacher_profiles: Mapping[str, dict]
  items: Mapping[str, Item]
  sel_cfg: SelectionConfig
  wording: DomainWording
  budget: prompts.PromptBudget
  scale: RatingScale


def _student_prefs(student: Student, inp: ChainInputs) -> dict[str, dict]:
  """The student's extraction of every review the selections may use (one decode per review)."""
  ids = list(dict.fromkeys(r for s in inp.selections for r in s.user_ids + s.item_ids
                           if r in inp.preferences))
  answers = student.generate([inp.preferences[r]["prompt"] for r in ids])
  return {r: {**inp.preferences[r], "preferences": bullets.parse(a).render(), "raw": a}
          for r, a in zip(ids, answers)}


def student_profiles(student: Student, inp: ChainInputs,
                     embed: Optional[Callable] = None) -> dict[str, dict]:
  """Profiles records (profiles.jsonl layout) written entirely by the student."""
  prefs = _student_prefs(student, inp)
  users = {s.example_id: profiles_lib.user_inputs(s, prefs, inp.wording, inp.budget)
           for s in inp.selections}
  todo = [s for s in inp.selections if users[s.example_id].prompt is not None]
  answers = student.generate([users[s.example_id].prompt for s in todo])
  user_profile = {s.example_id: profiles_lib.EMPTY for s in inp.selections}
  user_profile.update({s.example_id: profiles_lib.profile_text(a) for s, a in zip(todo, answers)})
  items = {s.example_id: profiles_lib.inputs_for(
      "item", profiles_lib.item_review_ids(s, inp.sel_cfg, user_profile[s.example_id], prefs, embed),
      prefs, inp.wording, inp.budget) for s in inp.selections}
  todo = [s for s in inp.selections if items[s.example_id].prompt is not None]
  answers = student.generate([items[s.example_id].prompt for s in todo])
  item_profile = {s.example_id: profiles_lib.EMPTY for s in inp.selections}
  item_profile.update({s.example_id: profiles_lib.profile_text(a) for s, a in zip(todo, answers)})
  return {s.example_id: profiles_lib.record(s, users[s.example_id], user_profile[s.example_id],
                                            items[s.example_id], item_profile[s.example_id],
                                            inp.sel_cfg.criterion) for s in inp.selections}


def predict(student: Student, inp: ChainInputs, teacher_profiles: bool = False,
            embed: Optional[Callable] = None) -> list[dict]:
  """One prediction per selection: text, parsed / argmax / expected rating, probabilities."""
  profs = dict(inp.teacher_profiles) if teacher_profiles else student_profiles(student, inp, embed)
  sels = list(inp.selections)
  texts = [prompts.rating_prompt(rationales.inputs(profs[s.example_id], inp.items[s.asin],
                                                   inp.wording, inp.budget, inp.scale),
                                 inp.wording, inp.scale) for s in sels]
  answers, probs = student.rate(texts, inp.scale)
  out = []
  for s, a, p in zip(sels, answers, probs):
    parsed = parse_answer(a, inp.scale)
    out.append({"example_id": s.example_id, "true_rating": s.true_rating, "text": a,
                "parsed": parsed.rating, "unparsed_reason": parsed.unparsed_reason,
                "argmax": readout.argmax_rating(p, inp.scale),
                "expected": readout.expected_rating(p, inp.scale),
                "probs": [float(x) for x in p],
                "user_profile": profs[s.example_id]["user_profile"],
                "item_profile": profs[s.example_id]["item_profile"]})
  return out


def metrics(preds: Sequence[dict], scale: RatingScale) -> dict:
  return readout.readout_metrics([p["true_rating"] for p in preds], [p["parsed"] for p in preds],
                                 np.asarray([p["probs"] for p in preds]).reshape(len(preds), len(scale)),
                                 scale)
