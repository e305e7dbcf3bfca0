"""Rec-SAVER prompts: the post-hoc explanation prompt and the self-verification prompt.

Both reuse the study's reasoning-prompt parts (preamble, "### Past User History: ###",
"### New Item Information: ###") from `recsaver_t5x.prompting.templates`, and the same
deterministic character budget (`variants.fit_to_budget`), so that a reference is written from,
and verified against, exactly what the reasoning prompt shows.

- Explanation (Algorithm 1, step 1): the true rating IS given; the teacher explains why the user
  gave it, in the "### Reason ###" format.
- Verification (step 3): the true rating is NOT given; the teacher sees the cleaned explanation
  and predicts the rating in the "### Rating ###" format.
"""
from __future__ import annotations

import re
from typing import Optional

from recsaver_t5x.data.records import Example
from recsaver_t5x.prompting import templates
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.templates import DomainWording, RenderOptions
from recsaver_t5x.prompting.variants import Budget, Prompt, fit_to_budget

EXPLAIN_VARIANT = "recsaver_explain"
VERIFY_VARIANT = "recsaver_verify"
EXPLANATION_HEADER = "### Explanation: ###"


def task_explain(wording: DomainWording, rating: int) -> str:
  """Post-hoc explanation task: why did the user give `rating` to the new item."""
  return (
      f"The user rated the new {wording.item} {int(rating)}.\n"
      f"Given the user's past {wording.history_verb} history and the new item information, "
      f"explain why the user gave the new {wording.item} this rating: what can you infer about "
      "the user's preferences?\n"
      "Your explanation should be based on any commonalities in the user history items and "
      "inferred user tastes or preferences.\n\n"
      "Please follow the format below:\n"
      f"{templates.REASON_HEADER}\n"
      "Write your explanation here. You can have line breaks.")


def task_verify(wording: DomainWording, explanation: str) -> str:
  """Self-verification task: predict the rating from the inputs and an explanation."""
  return (
      f"{EXPLANATION_HEADER}\n{explanation.strip()}\n{templates.END_OF_INPUTS}\n\n"
      f"Given the user's past {wording.history_verb} history, the new item information and the "
      "explanation of the user's preferences above, how will the user rate the new "
      f"{wording.item}?\n\n"
      "Please follow the format below:\n"
      f"{templates.RATING_HEADER}\n"
      "Give a single numerical rating, e.g. 1")


def _prompt(example: Example, variant: str, task: str, wording: DomainWording,
            budget: Budget) -> Prompt:
  text, trunc = fit_to_budget(example, wording, RenderOptions(), task, budget)
  return Prompt(example.example_id, variant, ({"role": "user", "content": text},), trunc)


def explain_prompt(example: Example, wording: Optional[DomainWording] = None,
                   budget: Budget = Budget()) -> Prompt:
  wording = wording or templates.wording_for(example.domain)
  return _prompt(example, EXPLAIN_VARIANT, task_explain(wording, example.true_rating), wording, budget)


def verify_prompt(example: Example, explanation: str, wording: Optional[DomainWording] = None,
                  budget: Budget = Budget()) -> Prompt:
  wording = wording or templates.wording_for(example.domain)
  return _prompt(example, VERIFY_VARIANT, task_verify(wording, explanation), wording, budget)


_REASON_HEADER = re.compile(r"^\s*\**\s*#{2,}[ \t*_]*(?:reason|reasoning|explanation)\b[^\n]*\n?",
                            re.IGNORECASE)


def extract_explanation(answer: str) -> str:
  """The explanation in a post-hoc answer: the "### Reason ###" section, without any rating
  section the model added anyway (the leakage filter still reads what is left)."""
  parsed = parse_answer(answer)
  if parsed.explanation is not None:  # a rating header was there: keep what came before it
    return parsed.explanation.strip()
  return _REASON_HEADER.sub("", answer, count=1).strip()
