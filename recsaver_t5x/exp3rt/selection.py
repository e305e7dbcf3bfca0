"""Which reviews go into an example's user and item profiles (EXP3RT's criteria, our leakage rule).

Leakage rule: a user profile is built from that user's reviews STRICTLY before the target review's
time; an item profile from OTHER users' reviews of the target item strictly before it. The target
review itself and anything written at or after its time never enter a profile.

Item-review criteria (EXP3RT): `helpful` takes the `item_cap` reviews with the most helpful votes
(ties: the most recent); `similar` takes a pool of the `item_pool` most recent candidates, and,
once the user profile exists, keeps the `item_cap` whose extracted preferences are most similar to
it (embedding cosine, `embed.embed`). User reviews: the `user_cap` most recent.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Collection, Sequence

from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.exp3rt.corpus import Corpus, Review

CRITERIA = ("helpful", "similar")


@dataclasses.dataclass(frozen=True)
class SelectionConfig:
  """Caps per profile (EXP3RT's medians: 6-15 reviews per user, 7-12 per item)."""

  user_cap: int = 10
  item_cap: int = 10
  criterion: str = "helpful"
  item_pool: int = 30

  def __post_init__(self):
    if self.criterion not in CRITERIA:
      raise UserFacingError(f"unknown item-review criterion '{self.criterion}'; choose from {CRITERIA}")
    if min(self.user_cap, self.item_cap) < 1 or self.item_pool < self.item_cap:
      raise UserFacingError("caps must be >= 1 and --item-pool >= --item-cap")


@dataclasses.dataclass(frozen=True)
class Selection:
  """The reviews an example's profiles may use. For `similar`, `item_ids` is the candidate pool."""

  example_id: str
  split: str
  user_id: str
  asin: str
  timestamp: int
  true_rating: int
  user_ids: tuple[str, ...]
  item_ids: tuple[str, ...]

  def to_dict(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["user_ids"], d["item_ids"] = list(self.user_ids), list(self.item_ids)
    return d

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "Selection":
    return cls(**{**d, "user_ids": tuple(d["user_ids"]), "item_ids": tuple(d["item_ids"])})


def user_reviews(corpus: Corpus, example: Example, cfg: SelectionConfig) -> tuple[Review, ...]:
  return corpus.user_before(example.user_id, example.timestamp)[-cfg.user_cap:]


def item_candidates(corpus: Corpus, example: Example, cfg: SelectionConfig,
                    held_out: Collection[tuple] = ()) -> tuple[Review, ...]:
  before = tuple(r for r in corpus.item_before(example.target.asin, example.timestamp, example.user_id)
                 if (r.user_id, r.asin, r.timestamp) not in held_out)
  if cfg.criterion == "helpful":
    ranked = sorted(before, key=lambda r: (r.helpful, r.timestamp), reverse=True)
    return tuple(ranked[:cfg.item_cap])
  return before[-cfg.item_pool:]


def select(corpus: Corpus, examples: Sequence[Example], cfg: SelectionConfig,
           held_out: Collection[tuple] = ()) -> list[Selection]:
  """One Selection per example (pure function of the corpus, examples and caps).

  `held_out`: (user, asin, timestamp) of the test targets; no TRAINING example's profile may use
  them (splits are user-disjoint, but an item profile reads other users' reviews), so no test
  review's text or rating reaches any training target.
  """
  out = []
  for ex in examples:
    banned = held_out if ex.split != "test" else ()
    out.append(Selection(ex.example_id, ex.split, ex.user_id, ex.target.asin, ex.timestamp,
                         ex.true_rating, tuple(r.review_id for r in user_reviews(corpus, ex, cfg)),
                         tuple(r.review_id for r in item_candidates(corpus, ex, cfg, banned))))
  return out


def most_similar(profile_vec, candidate_ids: Sequence[str], candidate_vecs, k: int) -> tuple[str, ...]:
  """The `k` candidates with the highest cosine to the profile (ties: later candidate first),
  returned oldest first as the pool was ordered."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  if not candidate_ids:
    return ()
  sims = np.asarray(candidate_vecs) @ np.asarray(profile_vec)
  order = sorted(range(len(candidate_ids)), key=lambda i: (float(sims[i]), i), reverse=True)[:k]
  return tuple(candidate_ids[i] for i in sorted(order))
