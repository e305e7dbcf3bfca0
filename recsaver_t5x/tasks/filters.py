"""Sample filters: which teacher reasoning samples become training targets (pure functions).

A teacher sample carries the teacher's own predicted rating (parsed from its answer). The study
fine-tunes on the teacher's reasoning followed by the TRUE rating, optionally keeping only samples
whose teacher rating agrees with the truth:

  all     keep every sample that has reasoning text (even when its rating did not parse);
  exact   teacher rating == true rating (5-class agreement);
  binary  (teacher rating > 3) == (true rating > 3) (binary agreement, 4 and 5 are positive);
  oneoff  |teacher rating - true rating| <= 1.

Samples with an unparsed teacher rating fail every filter except `all`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Optional, Sequence

POSITIVE_ABOVE = 3


@dataclasses.dataclass(frozen=True)
class TeacherSample:
  """One teacher answer for one example, as the task builder needs it.

  Attributes:
    example_id: the example it answers.
    sample_index: 0..M-1, the order in which samples were drawn (the store's index).
    reasoning: the reasoning text (without the rating part); may be empty.
    rating: the teacher's parsed rating, None if it could not be parsed.
  """

  example_id: str
  sample_index: int
  reasoning: str
  rating: Optional[int]


def keep_all(pred: Optional[int], true: int) -> bool:
  del pred, true
  return True


def keep_exact(pred: Optional[int], true: int) -> bool:
  return pred is not None and int(pred) == int(true)


def keep_binary(pred: Optional[int], true: int) -> bool:
  return pred is not None and (pred > POSITIVE_ABOVE) == (true > POSITIVE_ABOVE)


def keep_oneoff(pred: Optional[int], true: int) -> bool:
  return pred is not None and abs(int(pred) - int(true)) <= 1


FILTERS: dict[str, Callable[[Optional[int], int], bool]] = {
    "all": keep_all, "exact": keep_exact, "binary": keep_binary, "oneoff": keep_oneoff}


def select_samples(samples: Iterable[TeacherSample], true_rating: int, filter_name: str,
                   m: int) -> list[TeacherSample]:
  """The samples of one example that become targets.

  Looks at the first `m` samples by sample index (M = the teacher budget per example), keeps
  those with non-empty reasoning that pass `filter_name`, in sample-index order. So the same
  example contributes 0..m rows, and m=1 with `exact` keeps sample 0 only if it was right.
  """
  keep = FILTERS[filter_name]
  first = sorted(samples, key=lambda s: s.sample_index)[:m]
  return [s for s in first if s.reasoning.strip() and keep(s.rating, true_rating)]


def filter_counts(samples_by_example: dict[str, Sequence[TeacherSample]],
                  true_ratings: dict[str, int], m: int) -> dict[str, int]:
  """Rows kept per filter for a set of examples (for logs and the report)."""
  return {name: sum(len(select_samples(samples_by_example.get(eid, ()), r, name, m))
                    for eid, r in true_ratings.items())
          for name in FILTERS}
