"""EXP3RT step 2: user and item profiles from extracted preferences (one teacher call each).

A profile is at most 5 [Like] and 5 [Dislike] bullets (canonical layout, `bullets`); the average
rating line is added when a profile is shown (`prompts.with_rating_line`), computed from the
ratings of the reviews it summarises. An example whose user (or item) has no usable review gets
the empty profile without a call.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from recsaver_t5x.exp3rt import bullets, prompts, teacher_jobs
from recsaver_t5x.exp3rt.selection import Selection, SelectionConfig, most_similar
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.teacher.sampler import Job
from recsaver_t5x.teacher.store import SampleStore

MAX_BULLETS = 5
EMPTY = bullets.Preferences().render()

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclasses.dataclass(frozen=True)
class ProfileInputs:
  """What one profile call summarises: review ids, their ratings, the prompt."""

  review_ids: tuple[str, ...]
  ratings: tuple[int, ...]
  prompt: Optional[str]  # None: nothing to summarise (empty profile, no call)


def inputs_for(kind: str, review_ids: Sequence[str], prefs: Mapping[str, dict],
               wording: DomainWording, budget: prompts.PromptBudget) -> ProfileInputs:
  """Reviews with an extraction that has something in it; their ratings; the prompt."""
  used = [r for r in review_ids if r in prefs and not bullets.parse(prefs[r]["preferences"]).empty]
  texts = [prefs[r]["preferences"] for r in used]
  return ProfileInputs(tuple(used), tuple(int(prefs[r]["rating"]) for r in used),
                       prompts.profile_prompt(kind, texts, wording, budget) if used else None)


def profile_text(answer: Optional[str]) -> str:
  """Canonical bullets of a profile answer, at most 5 per side."""
  return bullets.parse(answer).capped(MAX_BULLETS).render() if answer else EMPTY


def user_inputs(sel: Selection, prefs: Mapping[str, dict], wording: DomainWording,
                budget: prompts.PromptBudget) -> ProfileInputs:
  return inputs_for("user", sel.user_ids, prefs, wording, budget)


def item_review_ids(sel: Selection, cfg: SelectionConfig, user_profile: str,
                    prefs: Mapping[str, dict], embed: Optional[Embed]) -> tuple[str, ...]:
  """The item reviews the item profile uses: the selection itself (helpful), or the pool's
  `item_cap` reviews most similar to the user profile (similar)."""
  if cfg.criterion == "helpful":
    return sel.item_ids
  pool = [r for r in sel.item_ids if r in prefs]
  if len(pool) <= cfg.item_cap:
    return tuple(pool)
  vecs = embed([user_profile] + [prefs[r]["preferences"] for r in pool])
  return most_similar(vecs[0], pool, vecs[1:], cfg.item_cap)


def call_jobs(example_id: str, variant: str, inputs: ProfileInputs, model: str,
              cfg: teacher_jobs.CallConfig) -> list[Job]:
  if inputs.prompt is None:
    return []
  return [teacher_jobs.job(example_id, variant, inputs.prompt, model, cfg,
                           {"step": variant, "review_ids": list(inputs.review_ids)})]


def stored_profile(store: SampleStore, example_id: str, variant: str, inputs: ProfileInputs,
                   model: str, cfg: teacher_jobs.CallConfig) -> Optional[str]:
  """The canonical profile, EMPTY when there was nothing to summarise, None when not yet made."""
  if inputs.prompt is None:
    return EMPTY
  sample = store.get(teacher_jobs.key(example_id, variant, model, cfg))
  return None if sample is None else profile_text(sample.text)


def record(sel: Selection, user: ProfileInputs, user_profile: str, item: ProfileInputs,
           item_profile: str, criterion: str) -> dict:
  return {"example_id": sel.example_id, "split": sel.split, "user_id": sel.user_id,
          "asin": sel.asin, "timestamp": sel.timestamp, "true_rating": sel.true_rating,
          "criterion": criterion,
          "user_review_ids": list(user.review_ids), "user_ratings": list(user.ratings),
          "user_prompt": user.prompt, "user_profile": user_profile,
          "item_review_ids": list(item.review_ids), "item_ratings": list(item.ratings),
          "item_prompt": item.prompt, "item_profile": item_profile}
