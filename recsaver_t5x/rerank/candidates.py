"""Candidate lists for the two evaluation protocols, labelled wherever they are reported.

  as retrieved         the retriever's top-N (no seen items). A user whose held-out item is not
                       among them scores 0 on every metric, whatever the reranker does; the
                       retriever's hit rate at N bounds every reranker's Recall@N.
  held-out inserted    the common protocol: when the held-out item is missing from the top-N it
                       replaces the N-th candidate, so every list holds it (rerankers are then
                       compared on ranking ability alone; numbers are optimistic).
"""
from __future__ import annotations

import dataclasses

import numpy as np

AS_RETRIEVED = "as retrieved"
INSERTED = "held-out inserted"
PROTOCOLS = (AS_RETRIEVED, INSERTED)


@dataclasses.dataclass(frozen=True)
class Candidates:
  """[U, N] item ids per evaluated user in retriever order (best first)."""

  protocol: str
  items: np.ndarray
  inserted: np.ndarray        # [U] bool: the held-out item was put in by the protocol


def protocol_candidates(retrieved: np.ndarray, heldout: np.ndarray) -> dict[str, Candidates]:
  """Both protocols' candidate lists from the retriever's top-N."""
  hit = (retrieved == heldout[:, None]).any(axis=1)
  inserted = retrieved.copy()
  inserted[~hit, -1] = heldout[~hit]
  return {AS_RETRIEVED: Candidates(AS_RETRIEVED, retrieved, np.zeros(len(hit), bool)),
          INSERTED: Candidates(INSERTED, inserted, ~hit)}


def hit_rate(retrieved: np.ndarray, heldout: np.ndarray) -> float:
  """Share of users whose held-out item is in the retrieved top-N."""
  return float((retrieved == heldout[:, None]).any(axis=1).mean()) if len(heldout) else 0.0


def rerank_order(predicted: np.ndarray) -> np.ndarray:
  """[U, N] column order by predicted rating, best first; ties keep the retriever's order."""
  n = predicted.shape[1]
  retriever_rank = np.broadcast_to(np.arange(n), predicted.shape)
  return np.lexsort((retriever_rank, -predicted), axis=1)


def reranked(items: np.ndarray, predicted: np.ndarray) -> np.ndarray:
  """The candidate lists re-ordered by predicted rating (ties: retriever order)."""
  return np.take_along_axis(items, rerank_order(predicted), axis=1)
