"""EXP3RT step 3 targets: rating-conditioned rationales, through Rec-SAVER's filter (option).

The teacher sees the profiles, the item description and the TRUE rating and explains it step by
step. With `filter="verified"` (default) the rationale then goes through the toolkit's leakage
filter (`recsaver.leakage.remove_leakage`: sentences stating the rating are removed) and Rec-SAVER
self-verification (the teacher, given the cleaned rationale but not the rating, must predict the
true rating); `filter="cleaned"` keeps every non-empty cleaned rationale; `filter="raw"` keeps
the rationale as written (EXP3RT's own behaviour).
"""
from __future__ import annotations

from typing import Mapping, Optional

from recsaver_t5x.data.records import Item
from recsaver_t5x.exp3rt import prompts, teacher_jobs
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.recsaver.leakage import remove_leakage
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale
from recsaver_t5x.teacher.sampler import Job
from recsaver_t5x.teacher.store import SampleStore
from recsaver_t5x.targets import extract_reasoning

FILTERS = ("verified", "cleaned", "raw")


def inputs(profile: Mapping, item: Item, wording: DomainWording, budget: prompts.PromptBudget,
           scale: RatingScale = DEFAULT_SCALE) -> str:
  """The rating inputs of one profiles.jsonl record (profiles with their average lines)."""
  return prompts.rating_inputs(
      prompts.with_rating_line(profile["user_profile"], profile["user_ratings"], scale), item,
      prompts.with_rating_line(profile["item_profile"], profile["item_ratings"], scale),
      wording, budget)


def rationale_job(example_id: str, text_inputs: str, true_rating: int, wording: DomainWording,
                  model: str, cfg: teacher_jobs.CallConfig, scale: RatingScale) -> Job:
  return teacher_jobs.job(example_id, teacher_jobs.RATIONALE,
                          prompts.rationale_prompt(text_inputs, true_rating, wording, scale),
                          model, cfg, {"step": "exp3rt_rationale", "true_rating": int(true_rating)})


def cleaned(answer: str, true_rating: int) -> str:
  """The rationale without its header and without the sentences that leak the rating."""
  return remove_leakage(extract_reasoning(answer), true_rating).text.strip()


def verify_job(example_id: str, text_inputs: str, explanation: str, wording: DomainWording,
               model: str, rationale_cfg: teacher_jobs.CallConfig, verify_cfg: teacher_jobs.CallConfig,
               scale: RatingScale) -> Job:
  return teacher_jobs.job(example_id, teacher_jobs.verify_variant(rationale_cfg.temperature),
                          prompts.verify_prompt(text_inputs, explanation, wording, scale),
                          model, verify_cfg, {"step": "exp3rt_verify"})


def collect_one(store: SampleStore, example_id: str, true_rating: int, model: str,
                rationale_cfg: teacher_jobs.CallConfig, verify_cfg: teacher_jobs.CallConfig,
                scale: RatingScale) -> Optional[dict]:
  """What the store holds for one example: rationale, cleaned text, verification and status
  (verified / rejected / verification_unparsed / empty_after_leakage_removal / pending)."""
  r = store.get(teacher_jobs.key(example_id, teacher_jobs.RATIONALE, model, rationale_cfg))
  if r is None:
    return None
  text = cleaned(r.text, true_rating)
  out = {"example_id": example_id, "true_rating": int(true_rating), "raw": r.text,
         "reasoning": extract_reasoning(r.text), "cleaned": text, "verify_answer": None,
         "verify_rating": None}
  if not text:
    return {**out, "status": "empty_after_leakage_removal"}
  v = store.get(teacher_jobs.key(example_id, teacher_jobs.verify_variant(rationale_cfg.temperature),
                                 model, verify_cfg))
  if v is None:
    return {**out, "status": "pending"}
  parsed = parse_answer(v.text, scale)
  status = ("verification_unparsed" if parsed.rating is None
            else "verified" if parsed.rating == true_rating else "rejected")
  return {**out, "verify_answer": v.text, "verify_rating": parsed.rating, "status": status}


def target_reasoning(record: Mapping, filter_name: str) -> Optional[str]:
  """The reasoning a training target uses under `filter_name`, None when the example drops out."""
  if filter_name == "raw":
    return record["reasoning"] or None
  if filter_name == "cleaned":
    return record["cleaned"] or None
  return record["cleaned"] if record["status"] == "verified" else None
