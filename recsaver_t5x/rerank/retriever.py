"""Collaborative-filtering retrievers from well-kept libraries, behind one small protocol.

  bpr, als   `implicit` (Bayesian personalised ranking; alternating least squares)
  lightgcn   `torch_geometric.nn.models.LightGCN` trained with its own BPR recommendation loss

Each is deterministic for a seed: one thread for the stochastic parts (implicit's BPR is Hogwild
SGD across threads, so more threads would change the result), seeded generators everywhere.
`top_n` never returns an item the user saw in training.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from recsaver_t5x.errors import UserFacingError

RETRIEVERS = ("bpr", "als", "lightgcn")


@dataclasses.dataclass(frozen=True)
class RetrieverConfig:
  """Hyper-parameters of a retriever (those a kind does not use are ignored)."""

  kind: str = "bpr"
  factors: int = 64
  iterations: int = 100           # implicit: epochs/sweeps; LightGCN: epochs
  learning_rate: float = 0.05
  regularization: float = 0.01
  layers: int = 3                 # LightGCN propagation layers
  batch_size: int = 8192          # LightGCN positive edges per step
  seed: int = 0
  threads: int = 1


class Retriever(Protocol):
  """fit on the binary training matrix, then score users against every item."""

  name: str

  def fit(self, train: sp.csr_matrix) -> None: ...

  def scores(self, users: np.ndarray) -> np.ndarray:
    """[len(users), n_items] float32 preference scores (higher is better)."""


class ImplicitRetriever:
  """implicit's BPR or ALS."""

  def __init__(self, cfg: RetrieverConfig):
    self.cfg, self.name = cfg, f"{cfg.kind.upper()} (implicit, {cfg.factors} factors)"
    self.model = None

  def fit(self, train: sp.csr_matrix) -> None:
    # pylint: disable=import-outside-toplevel
    from threadpoolctl import threadpool_limits
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    c = self.cfg
    # implicit warns about (and is slowed by) threaded BLAS; it checks when the model is built
    with threadpool_limits(c.threads):
      if c.kind == "bpr":
        self.model = BayesianPersonalizedRanking(
            factors=c.factors, learning_rate=c.learning_rate, regularization=c.regularization,
            iterations=c.iterations, num_threads=c.threads, random_state=c.seed)
      else:
        self.model = AlternatingLeastSquares(
            factors=c.factors, regularization=c.regularization, iterations=c.iterations,
            num_threads=c.threads, random_state=c.seed)
      self.model.fit(train.astype(np.float32), show_progress=False)

  def scores(self, users: np.ndarray) -> np.ndarray:
    return np.asarray(self.model.user_factors[users] @ self.model.item_factors.T, np.float32)


class LightGCNRetriever:
  """torch-geometric's LightGCN on the user-item graph, BPR loss with uniform negatives."""

  def __init__(self, cfg: RetrieverConfig):
    self.cfg = cfg
    self.name = f"LightGCN (torch-geometric, {cfg.layers} layers, dim {cfg.factors})"
    self.user_emb = self.item_emb = None

  def fit(self, train: sp.csr_matrix) -> None:
    # pylint: disable=import-outside-toplevel
    import torch
    from torch_geometric.nn.models import LightGCN
    c = self.cfg
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(c.threads)
    try:
      torch.manual_seed(c.seed)
      gen = torch.Generator().manual_seed(c.seed)
      n_users, n_items = train.shape
      coo = train.tocoo()
      u = torch.as_tensor(coo.row, dtype=torch.long)
      i = torch.as_tensor(coo.col, dtype=torch.long) + n_users
      edge_index = torch.stack([torch.cat([u, i]), torch.cat([i, u])])
      model = LightGCN(n_users + n_items, c.factors, c.layers)
      opt = torch.optim.Adam(model.parameters(), lr=c.learning_rate)
      n_pos = len(u)
      for _ in tqdm(range(c.iterations), desc="LightGCN epochs", mininterval=2.0, leave=False):
        perm = torch.randperm(n_pos, generator=gen)
        for lo in range(0, n_pos, c.batch_size):
          b = perm[lo:lo + c.batch_size]
          # uniform negatives; a sampled positive is rare in sparse data and only adds noise
          neg = torch.randint(n_users, n_users + n_items, (len(b),), generator=gen)
          pos_rank = model(edge_index, torch.stack([u[b], i[b]]))
          neg_rank = model(edge_index, torch.stack([u[b], neg]))
          nodes = torch.unique(torch.cat([u[b], i[b], neg]))
          loss = model.recommendation_loss(pos_rank, neg_rank, node_id=nodes,
                                           lambda_reg=c.regularization)
          opt.zero_grad()
          loss.backward()
          opt.step()
      with torch.no_grad():
        emb = model.get_embedding(edge_index).numpy()
    finally:
      torch.set_num_threads(prev_threads)
    self.user_emb, self.item_emb = emb[:n_users], emb[n_users:]

  def scores(self, users: np.ndarray) -> np.ndarray:
    return np.asarray(self.user_emb[users] @ self.item_emb.T, np.float32)


def make_retriever(cfg: RetrieverConfig) -> Retriever:
  if cfg.kind in ("bpr", "als"):
    return ImplicitRetriever(cfg)
  if cfg.kind == "lightgcn":
    return LightGCNRetriever(cfg)
  raise UserFacingError(f"--retriever: unknown '{cfg.kind}'; choose from {RETRIEVERS}")


def top_n(retriever: Retriever, train: sp.csr_matrix, users: np.ndarray, n: int,
          chunk: int = 4096, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """([U, n] item ids, [U, n] scores), best first, excluding each user's training items.

  Users are scored `chunk` at a time, so memory is O(chunk x n_items), not O(users x items).
  Within the list, ties in score put the lower item id first.
  """
  n_items = train.shape[1]
  max_seen = int(np.diff(train.indptr)[users].max()) if len(users) else 0
  if n < 1 or n > n_items - max_seen:
    raise UserFacingError(f"-N {n}: must lie in 1..{n_items - max_seen} (items {n_items}, "
                          f"a test user saw {max_seen} of them in training)")
  items = np.empty((len(users), n), np.int32)
  scores = np.empty((len(users), n), np.float32)
  for lo in tqdm(range(0, len(users), chunk), desc="candidates", disable=not progress,
                 mininterval=2.0):
    us = users[lo:lo + chunk]
    s = retriever.scores(us)
    seen = train[us]
    s[np.repeat(np.arange(len(us)), np.diff(seen.indptr)), seen.indices] = -np.inf
    part = np.argpartition(-s, n - 1, axis=1)[:, :n]
    ps = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -ps), axis=1)
    items[lo:lo + len(us)] = np.take_along_axis(part, order, axis=1)
    scores[lo:lo + len(us)] = np.take_along_axis(ps, order, axis=1)
  return items, scores
