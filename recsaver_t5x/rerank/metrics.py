"""Ranking metrics with one relevant (held-out) item per user: Recall@k, NDCG@k, MRR.

With a single relevant item at 0-based rank r of a list (r = inf when absent):
Recall@k = [r < k] (= hit rate), NDCG@k = [r < k] / log2(r + 2) (the ideal DCG is 1), and
MRR = 1 / (r + 1) over the whole list (0 when absent). Means over users. These equal
ir-measures' R@k, nDCG@k and RR (trec_eval conventions) on the same runs; tests/rerank checks it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_KS = (1, 5, 10)


def ks_for(n: int, ks: Sequence[int] = DEFAULT_KS) -> tuple[int, ...]:
  """The cut-offs reported for lists of length n: those of `ks` below n, then n itself."""
  return tuple(sorted({k for k in ks if k < n} | {n}))


def heldout_ranks(ranked: np.ndarray, heldout: np.ndarray) -> np.ndarray:
  """0-based position of each user's held-out item in their list, inf when absent."""
  match = ranked == heldout[:, None]
  found = match.any(axis=1)
  return np.where(found, match.argmax(axis=1), np.inf)


def ranking_metrics(ranked: np.ndarray, heldout: np.ndarray,
                    ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
  """{'recall@k', 'ndcg@k' for each k, 'mrr', 'n'}: means over users of [U, L] ranked lists."""
  r = heldout_ranks(ranked, heldout)
  out: dict[str, float] = {}
  with np.errstate(divide="ignore"):
    gain = np.where(np.isfinite(r), 1.0 / np.log2(r + 2.0), 0.0)
    rr = np.where(np.isfinite(r), 1.0 / (r + 1.0), 0.0)
  for k in ks:
    out[f"recall@{k}"] = float(np.mean(r < k)) if len(r) else 0.0
  for k in ks:
    out[f"ndcg@{k}"] = float(np.mean(np.where(r < k, gain, 0.0))) if len(r) else 0.0
  out["mrr"] = float(np.mean(rr)) if len(r) else 0.0
  out["n"] = int(len(r))
  return out


def ndcg_curve(ranked: np.ndarray, heldout: np.ndarray) -> np.ndarray:
  """NDCG@k for k = 1..L (for the plot)."""
  r = heldout_ranks(ranked, heldout)
  with np.errstate(divide="ignore"):
    gain = np.where(np.isfinite(r), 1.0 / np.log2(r + 2.0), 0.0)
  return np.array([np.mean(np.where(r < k, gain, 0.0)) for k in range(1, ranked.shape[1] + 1)])
