"""Rows of a task (plain dicts of strings and ints) from prepared examples and teacher samples.

Pure functions of their inputs: the same examples, samples and options always give the same rows
in the same order, which is what makes training data positions reproducible.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Iterable, Mapping, Optional, Sequence

from recsaver_t5x.data.records import Example
from recsaver_t5x.prompting import variants
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x import targets as targets_lib
from recsaver_t5x.tasks import filters

@dataclasses.dataclass(frozen=True)
class PromptOptions:
  """How inputs are rendered: the domain wording and the prompt's character budget."""

  wording: Optional[DomainWording] = None
  budget: variants.Budget = variants.Budget()


def prompt_text(example: Example, reasoning: bool, options: PromptOptions) -> str:
  """The study's reasoning prompt (or its rating-only variant) for one example."""
  variant = "reasoning" if reasoning else "no_reasoning"
  return variants.build_prompt(example, variant, wording=options.wording,
                               budget=options.budget).text


def _row(example: Example, inputs: str, head: str, tail: str, sample_index: int = -1,
         teacher_rating: Optional[int] = None) -> dict:
  return {"example_id": example.example_id, "domain": example.domain, "inputs": inputs,
          "targets_head": head, "targets_tail": tail, "targets": head + tail,
          "true_rating": int(example.true_rating), "sample_index": int(sample_index),
          "teacher_rating": -1 if teacher_rating is None else int(teacher_rating)}


def split_target(reasoning: Optional[str], rating: int) -> tuple[str, str]:
  """(head, tail) with head + tail == the full target; the tail (rating part) is never trimmed."""
  full = targets_lib.rating_target(rating)
  if reasoning is None:
    return "", full
  whole = targets_lib.reasoning_target(reasoning, rating)
  head = whole[: len(whole) - len(full) - 1]
  return head, whole[len(head):]


def group_samples(samples: Iterable[filters.TeacherSample]
                  ) -> dict[str, list[filters.TeacherSample]]:
  by_example: dict[str, list[filters.TeacherSample]] = collections.defaultdict(list)
  for s in samples:
    by_example[s.example_id].append(s)
  return dict(by_example)


def reasoning_train_rows(examples: Sequence[Example],
                         samples: Mapping[str, Sequence[filters.TeacherSample]],
                         filter_name: str, m: int, options: PromptOptions) -> list[dict]:
  """One row per kept teacher sample: reasoning prompt -> teacher reasoning + TRUE rating."""
  rows = []
  for ex in examples:
    kept = filters.select_samples(samples.get(ex.example_id, ()), ex.true_rating, filter_name, m)
    if not kept:
      continue
    inputs = prompt_text(ex, True, options)
    for s in kept:
      head, tail = split_target(s.reasoning, ex.true_rating)
      rows.append(_row(ex, inputs, head, tail, s.sample_index, s.rating))
  return rows


def rating_rows(examples: Sequence[Example], options: PromptOptions) -> list[dict]:
  """One row per example: rating-only prompt -> '### Rating ###\\n{true rating}'."""
  return [_row(ex, prompt_text(ex, False, options), *split_target(None, ex.true_rating))
          for ex in examples]


def reasoning_eval_rows(examples: Sequence[Example],
                        samples: Mapping[str, Sequence[filters.TeacherSample]],
                        options: PromptOptions) -> list[dict]:
  """One row per example: reasoning prompt; target = sample 0's reasoning (if any) + TRUE rating.

  Evaluation decodes from the inputs alone; the target text only serves teacher-forced eval loss.
  """
  rows = []
  for ex in examples:
    kept = filters.select_samples(samples.get(ex.example_id, ()), ex.true_rating, "all", 1)
    reasoning = kept[0].reasoning if kept else None
    head, tail = split_target(reasoning, ex.true_rating)
    rows.append(_row(ex, prompt_text(ex, True, options), head, tail,
                     kept[0].sample_index if kept else -1, kept[0].rating if kept else None))
  return rows
