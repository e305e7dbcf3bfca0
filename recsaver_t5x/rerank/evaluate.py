"""The rerank evaluation: split -> retriever -> top-N -> each reranker -> metrics per protocol.

Every reranker scores the same users' candidates once: a user's query holds the retrieved top-N
plus, when the retriever missed it, the held-out item (the extra candidate of the "held-out
inserted" protocol), so both protocols are read from one pass.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

from recsaver_t5x.data.records import HistoryEntry, Item
from recsaver_t5x.rerank import candidates as cand_lib
from recsaver_t5x.rerank import metrics as metrics_lib
from recsaver_t5x.rerank.rerankers import Query, Reranker, score_all
from recsaver_t5x.rerank.retriever import Retriever, top_n
from recsaver_t5x.rerank.split import Split


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  """Which users, how many candidates and which cut-offs."""

  n: int = 20
  ks: tuple[int, ...] = metrics_lib.DEFAULT_KS
  max_users: Optional[int] = None   # a seeded sample of test users (the costly rerankers)
  max_history: int = 10             # training reviews per prompt (the study's 4..10 examples)
  seed: int = 0
  batch_queries: int = 64


@dataclasses.dataclass
class MethodResult:
  name: str
  metrics: dict                     # protocol -> metrics dict
  curves: dict                      # protocol -> NDCG@k for k = 1..N
  seconds: float = 0.0
  calls: int = 0


def eval_users(n_test: int, max_users: Optional[int], seed: int) -> np.ndarray:
  """Positions (into the split's test users) evaluated: all, or a seeded sample, ascending."""
  if max_users is None or max_users >= n_test:
    return np.arange(n_test)
  return np.sort(np.random.default_rng(seed).choice(n_test, size=max_users, replace=False))


def build_queries(split: Split, pos: np.ndarray, cands: np.ndarray, extra: np.ndarray,
                  items: dict, max_history: int) -> list[Query]:
  """Queries for the users at `pos`: their last `max_history` training reviews and candidates."""
  d = split.data
  item_of = lambda j: items.get(d.item_ids[j]) or Item(asin=str(d.item_ids[j]))
  out = []
  for row, p in enumerate(pos):
    u = int(split.test_users[p])
    rows = split.train_rows_of(u)[-max_history:]
    hist = tuple(HistoryEntry(item_of(d.item[r]), int(d.rating[r]),
                              d.review[r] if d.review else None,
                              d.summary[r] if d.summary else None, int(d.ts[r])) for r in rows)
    ids = list(cands[row]) + ([int(extra[row])] if extra[row] >= 0 else [])
    out.append(Query(str(d.user_ids[u]), hist, tuple(item_of(j) for j in ids)))
  return out


def _method(name: str, lists: dict, heldout: np.ndarray, ks) -> MethodResult:
  return MethodResult(name, {p: metrics_lib.ranking_metrics(l, heldout, ks) for p, l in lists.items()},
                      {p: metrics_lib.ndcg_curve(l, heldout).tolist() for p, l in lists.items()})


def evaluate(split: Split, retriever: Retriever, rerankers: Sequence[Reranker], items: dict,
             cfg: EvalConfig, progress: bool = True) -> dict:
  """Fits nothing: `retriever` is already fitted on `split.train`. Returns the result dict."""
  heldout_all = split.heldout_items
  t0 = time.perf_counter()
  retrieved_all, _ = top_n(retriever, split.train, split.test_users, cfg.n, progress=progress)
  retrieve_s = time.perf_counter() - t0
  ks = metrics_lib.ks_for(cfg.n, cfg.ks)
  pos = eval_users(len(split.test_users), cfg.max_users, cfg.seed)
  retrieved, heldout = retrieved_all[pos], heldout_all[pos]
  protocols = cand_lib.protocol_candidates(retrieved, heldout)
  inserted = protocols[cand_lib.INSERTED].inserted
  methods = [_method(f"retriever: {retriever.name}", {p: c.items for p, c in protocols.items()},
                     heldout, ks)]
  methods[0].seconds = retrieve_s * len(pos) / max(len(split.test_users), 1)
  extra = np.where(inserted, heldout, -1)
  queries = build_queries(split, pos, retrieved, extra, items, cfg.max_history) if rerankers else []
  for rr in rerankers:
    calls0 = rr.calls
    t = time.perf_counter()
    with tqdm(total=len(queries), desc=f"rerank: {rr.name}", unit=" users", disable=not progress) as bar:
      scores = score_all(rr, queries, cfg.batch_queries, progress=bar.update)
    seconds = time.perf_counter() - t
    as_ret = np.stack([s[:cfg.n] for s in scores])
    ins = np.stack([np.r_[s[:cfg.n - 1], s[cfg.n]] if m else s[:cfg.n] for s, m in zip(scores, inserted)])
    lists = {cand_lib.AS_RETRIEVED: cand_lib.reranked(protocols[cand_lib.AS_RETRIEVED].items, as_ret),
             cand_lib.INSERTED: cand_lib.reranked(protocols[cand_lib.INSERTED].items, ins)}
    m = _method(rr.name, lists, heldout, ks)
    m.seconds, m.calls = seconds, rr.calls - calls0
    methods.append(m)
  return {
      "split": split.stats, "n": cfg.n, "ks": list(ks), "eval_users": int(len(pos)),
      "test_users": int(len(split.test_users)),
      "hit_rate_at_n": cand_lib.hit_rate(retrieved, heldout),
      "hit_rate_at_n_all_users": cand_lib.hit_rate(retrieved_all, heldout_all),
      "retriever_all_users": metrics_lib.ranking_metrics(retrieved_all, heldout_all, ks),
      "retrieve_seconds_all_users": retrieve_s,
      "methods": [dataclasses.asdict(m) for m in methods],
  }
