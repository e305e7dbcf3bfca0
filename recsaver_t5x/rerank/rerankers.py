"""The reranker protocol and the toolkit's simple rating models behind it.

A reranker predicts a rating for each candidate of each query; lists are then re-ordered by
predicted rating, ties broken by the retriever's order (`candidates.rerank_order`). Anything with
`name`, `calls` and `score(queries)` plugs in: the reasoning student (`rerank.student`), the
EXP3RT student, or a factory named on the command line as `python:MODULE:FUNCTION`, called with
a `RerankContext` (see `load_plugin`).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale


@dataclasses.dataclass(frozen=True)
class Query:
  """One user's request: their training history (chronological) and the candidates to score."""

  user_id: str
  history: tuple[HistoryEntry, ...]
  candidates: tuple[Item, ...]


class Reranker(Protocol):
  """Predicts ratings; `calls` counts (user, candidate) pairs sent to the model so far."""

  name: str
  calls: int

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    """For each query, [len(query.candidates)] predicted ratings (float, higher is better)."""


@dataclasses.dataclass(frozen=True)
class RerankContext:
  """What a reranker factory may need: the domain, its scale, a work directory, options."""

  domain: str
  work_dir: str
  scale: RatingScale = DEFAULT_SCALE
  options: dict = dataclasses.field(default_factory=dict)




def query_examples(query: Query, domain: str) -> list[Example]:
  """One rating-prediction example per candidate: the user's history, the candidate as target.

  Example ids are `user|asin`, so a (user, item) pair scored under both protocols is one example.
  """
  ts = query.history[-1].timestamp if query.history else 0
  return [Example(example_id=f"{query.user_id}|{item.asin}", domain=domain, user_id=query.user_id,
                  history=query.history, target=item, true_rating=data_io.UNLABELLED, timestamp=ts,
                  split="rerank") for item in query.candidates]


class UserAverage:
  """The naive baseline: the user's mean historical rating for every candidate.

  It predicts one value per user, so every list keeps the retriever's order: it is the check that
  the tie-breaking rule holds, and the floor a rating model must beat.
  """

  name = "naive user average"

  def __init__(self):
    self.calls = 0

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    self.calls += sum(len(q.candidates) for q in queries)
    return [np.full(len(q.candidates), np.mean([h.rating for h in q.history]) if q.history else 0.0)
            for q in queries]


class ItemAverage:
  """Each candidate's mean training rating, shrunk toward the global mean by `prior` pseudo-votes."""

  name = "item average (training ratings)"

  def __init__(self, item_means: dict[str, float], global_mean: float):
    self.item_means, self.global_mean, self.calls = item_means, global_mean, 0

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    self.calls += sum(len(q.candidates) for q in queries)
    return [np.array([self.item_means.get(i.asin, self.global_mean) for i in q.candidates])
            for q in queries]

  @classmethod
  def from_training(cls, asins: Sequence[str], ratings: np.ndarray, prior: float = 1.0) -> "ItemAverage":
    ratings = np.asarray(ratings, np.float64)
    g = float(ratings.mean()) if len(ratings) else 0.0
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for a, r in zip(asins, ratings):
      sums[a] = sums.get(a, 0.0) + r
      counts[a] = counts.get(a, 0) + 1
    return cls({a: (sums[a] + prior * g) / (counts[a] + prior) for a in sums}, g)


def expected_rating(probs: np.ndarray, scale: RatingScale = DEFAULT_SCALE) -> np.ndarray:
  """sum_r r * P(r) over the scale's ratings, from [..., len(scale)] probabilities."""
  probs = np.asarray(probs, np.float64)
  if probs.shape[-1] != len(scale):
    raise UserFacingError(f"rating distribution has {probs.shape[-1]} values, the scale "
                          f"{scale.low}..{scale.high} has {len(scale)}")
  return probs @ np.asarray(scale.values, np.float64)


def load_plugin(spec: str, context: RerankContext) -> Reranker:
  """`MODULE:FUNCTION` -> FUNCTION(context), which must return a Reranker."""
  module_name, _, fn_name = spec.partition(":")
  if not module_name or not fn_name:
    raise UserFacingError(f"--reranker python:{spec}: expected python:MODULE:FUNCTION")
  try:
    fn: Callable[[RerankContext], Any] = getattr(importlib.import_module(module_name), fn_name)
  except (ImportError, AttributeError) as e:
    raise UserFacingError(f"--reranker python:{spec}: cannot load ({e})") from None
  reranker = fn(context)
  for attr in ("name", "calls", "score"):
    if not hasattr(reranker, attr):
      raise UserFacingError(f"--reranker python:{spec}: the factory's result has no '{attr}'")
  return reranker


def score_all(reranker: Reranker, queries: Sequence[Query], batch_queries: int = 64,
              progress: Optional[Callable[[int], None]] = None) -> list[np.ndarray]:
  """`reranker.score` over `queries`, `batch_queries` at a time (checks the output shapes)."""
  out: list[np.ndarray] = []
  for lo in range(0, len(queries), batch_queries):
    chunk = queries[lo:lo + batch_queries]
    got = reranker.score(chunk)
    if len(got) != len(chunk):
      raise RuntimeError(f"{reranker.name}: {len(got)} score arrays for {len(chunk)} queries")
    for q, s in zip(chunk, got):
      s = np.asarray(s, np.float64)
      if s.shape != (len(q.candidates),):
        raise RuntimeError(f"{reranker.name}: scores of shape {s.shape} for {len(q.candidates)} candidates")
      out.append(s)
    if progress:
      progress(len(chunk))
  return out
