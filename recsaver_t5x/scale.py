"""The rating scale of a domain: a leaf module every layer may import (it imports nothing of ours).

Amazon ratings are 1..5 with 4 and 5 positive; EXP3RT's IMDB ratings are 1..10. A scale travels with
a domain through prepare, prompts, the parser, targets, rating-token probabilities and metrics, so no
layer hard-codes 1..5.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping


@dataclasses.dataclass(frozen=True)
class RatingScale:
  """Integer ratings `low..high`; a rating strictly above `positive_above` is positive (binary)."""

  low: int = 1
  high: int = 5
  positive_above: int = 3

  def __post_init__(self):
    if not (isinstance(self.low, int) and isinstance(self.high, int) and self.low < self.high):
      raise ValueError(f"rating scale {self.low}..{self.high}: need integers with low < high")
    if not self.low <= self.positive_above < self.high:
      raise ValueError(f"rating scale {self.low}..{self.high}: positive_above "
                       f"{self.positive_above} must lie in {self.low}..{self.high - 1}")

  @property
  def values(self) -> tuple[int, ...]:
    return tuple(range(self.low, self.high + 1))

  def __len__(self) -> int:
    return self.high - self.low + 1

  def __contains__(self, rating: object) -> bool:
    return isinstance(rating, int) and not isinstance(rating, bool) and self.low <= rating <= self.high

  def index(self, rating: int) -> int:
    """Position of `rating` in `values` (the column of its probability)."""
    if rating not in self:
      raise ValueError(f"rating {rating!r} outside {self.low}..{self.high}")
    return rating - self.low

  def is_positive(self, rating: float) -> bool:
    return rating > self.positive_above

  def to_dict(self) -> dict[str, int]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: Mapping[str, Any] | None) -> "RatingScale":
    return cls() if not d else cls(**{k: int(v) for k, v in d.items()})


DEFAULT_SCALE = RatingScale()
