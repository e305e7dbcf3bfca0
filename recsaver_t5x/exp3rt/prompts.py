"""EXP3RT's teacher prompts: extraction, profiles, rating-conditioned rationale, verification,
and the rating prompt the student learns (user profile + item description + item profile).

Every text field goes through the toolkit's deterministic character clip
(`prompting.variants.clip_text`), so prompts are reproducible and their hashes stable.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from recsaver_t5x.data.records import Item
from recsaver_t5x.exp3rt.corpus import Review
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting.templates import DomainWording, wording_for
from recsaver_t5x.prompting.variants import clip_text
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale

REASON_HEADER = "### Reason ###"
RATING_HEADER = "### Rating ###"
FORMAT = "[Like]\n- ...\n[Dislike]\n- ...\n(write \"- None.\" for a side with nothing)"


@dataclasses.dataclass(frozen=True)
class PromptBudget:
  """Characters per review text, per item description and per profile."""

  review_chars: int = 600
  description_chars: int = 400
  profile_chars: int = 700


GENERIC = DomainWording("product", "Product", "purchase")


def domain_wording(domain: str) -> DomainWording:
  """The domain's preset wording, or the generic "product" one for a domain without a preset."""
  try:
    return wording_for(domain)
  except UserFacingError:
    return GENERIC


def _title(item: Item) -> str:
  return item.title or item.asin


def item_description(item: Item, budget: PromptBudget) -> str:
  """Title, brand, categories and description of an item ("unknown" where missing)."""
  cats = ", ".join(item.categories) if item.categories else "unknown"
  desc = clip_text(item.description, budget.description_chars) if item.description else "unknown"
  return (f"Title: {_title(item)}\nBrand: {item.brand or 'unknown'}\nCategories: {cats}\n"
          f"Description: {desc}")


def extraction_prompt(review: Review, item: Item, wording: DomainWording,
                      budget: PromptBudget) -> str:
  """One review -> the preferences it states, nothing more (EXP3RT step 1)."""
  text = " ".join(x for x in (review.summary, review.text) if x) or "(empty review)"
  return (f"A user wrote this review of the {wording.item} \"{_title(item)}\":\n"
          f"\"{clip_text(text, budget.review_chars)}\"\n\n"
          f"List what the user liked and disliked about the {wording.item}, only what the "
          f"review says, as short bullets in this format:\n{FORMAT}")


def _avg_line(ratings: Sequence[int], scale: RatingScale) -> str:
  if not ratings:
    return f"Average rating: unknown (of {scale.low}..{scale.high})"
  return f"Average rating: {sum(ratings) / len(ratings):.1f} (of {scale.low}..{scale.high})"


def profile_prompt(kind: str, preferences: Sequence[str], wording: DomainWording,
                   budget: PromptBudget) -> str:
  """Preferences of several reviews -> at most 5 Like and 5 Dislike bullets (EXP3RT step 2).

  `kind` is "user" (one user's past reviews) or "item" (other users' reviews of one item)."""
  who = ("one user's past reviews" if kind == "user"
         else f"different users' reviews of one {wording.item}")
  body = "\n\n".join(f"Review {i + 1}:\n{clip_text(p, budget.review_chars)}"
                     for i, p in enumerate(preferences)) or "(no reviews)"
  subject = "the user's" if kind == "user" else f"the {wording.item}'s"
  return (f"Preferences extracted from {who}:\n\n{body}\n\n"
          f"Summarise {subject} profile in at most 5 Like and 5 Dislike bullets, in this "
          f"format:\n{FORMAT}")


def with_rating_line(profile: str, ratings: Sequence[int], scale: RatingScale) -> str:
  """A profile as the rating prompt shows it: the bullets, then the average rating line
  (computed from the selected reviews' ratings, never generated)."""
  return f"{profile.strip()}\n{_avg_line(ratings, scale)}"


def rating_inputs(user_profile: str, item: Item, item_profile: str, wording: DomainWording,
                  budget: PromptBudget) -> str:
  """The shared inputs of the rating, rationale and verification prompts."""
  return (f"### User Profile ###\n{clip_text(user_profile, budget.profile_chars)}\n\n"
          f"### {wording.item_label} Description ###\n{item_description(item, budget)}\n\n"
          f"### {wording.item_label} Profile ###\n"
          f"{clip_text(item_profile, budget.profile_chars)}\n")


def rating_prompt(inputs: str, wording: DomainWording, scale: RatingScale = DEFAULT_SCALE) -> str:
  """EXP3RT step 3 (what the student answers): reason step by step, then the rating."""
  return (f"{inputs}\nHow will the user rate this {wording.item} ({scale.low} to {scale.high})? "
          f"Reason step by step, then rate.\n{REASON_HEADER}\n...\n{RATING_HEADER}\n"
          f"a single number from {scale.low} to {scale.high}")


def rationale_prompt(inputs: str, true_rating: int, wording: DomainWording,
                     scale: RatingScale = DEFAULT_SCALE) -> str:
  """The teacher, given the TRUE rating, explains it step by step (the training target)."""
  return (f"{inputs}\nThe user rated this {wording.item} {int(true_rating)} "
          f"(of {scale.low}..{scale.high}). Explain step by step, from the profiles and the "
          f"description, why the user would give this rating. Format:\n{REASON_HEADER}\n"
          "your explanation")


def verify_prompt(inputs: str, explanation: str, wording: DomainWording,
                  scale: RatingScale = DEFAULT_SCALE) -> str:
  """Self-verification: the cleaned rationale, no rating; the teacher predicts the rating."""
  return (f"{inputs}\n### Explanation ###\n{explanation.strip()}\n\n"
          f"Given the profiles, the description and the explanation, how will the user rate this "
          f"{wording.item} ({scale.low} to {scale.high})?\n{RATING_HEADER}\n"
          f"a single number, e.g. {scale.low}")

