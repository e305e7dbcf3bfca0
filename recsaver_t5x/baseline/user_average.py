"""The naive baseline: predict the user's historical average rating, rounded."""
from __future__ import annotations

import math
from typing import Sequence

from recsaver_t5x.data.records import Example


def round_half_up(x: float) -> int:
  # Python's round() is banker's rounding (round(3.5) == 4 but round(2.5) == 2); a mean of 2.5
  # stars is conventionally 3.
  return int(math.floor(x + 0.5))


def user_average_predictions(examples: Sequence[Example]) -> list[int]:
  """The rounded mean rating of each example's history."""
  return [round_half_up(ex.history_mean_rating()) for ex in examples]


def user_average_probabilities(examples: Sequence[Example]) -> list[list[float]]:
  """The empirical rating distribution of each user's history, as 5-way probabilities.

  Lets the baseline report AUCs next to the model rows (the study reports only decoded metrics for it).
  """
  out = []
  for ex in examples:
    counts = [0.0] * 5
    for h in ex.history:
      counts[h.rating - 1] += 1.0
    total = sum(counts)
    out.append([c / total for c in counts])
  return out
