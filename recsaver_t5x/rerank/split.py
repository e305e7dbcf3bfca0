"""Leave-last-out evaluation splits: per user (each user's last interaction), or by time.

`by="user"`: every user with at least `min_train` earlier interactions holds out their last one.
`by="time"`: training is everything before a global cut-off time (the `time_quantile` of all
timestamps); a user with at least `min_train` interactions before it holds out their first
interaction at or after it. No future interaction reaches the training matrix, and a held-out
item that the retriever never saw in training (a cold item) cannot be retrieved: such users are
dropped from evaluation and counted.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.rerank.interactions import Interactions

SPLIT_BY = ("user", "time")


@dataclasses.dataclass(frozen=True)
class Split:
  """A training matrix and one held-out interaction per evaluated user."""

  data: Interactions
  train_mask: np.ndarray      # [n] bool: rows of `data` in training
  train: sp.csr_matrix        # [n_users, n_items] float32, 1 where the user interacted in training
  test_users: np.ndarray      # [U] int32, ascending
  heldout_rows: np.ndarray    # [U] int64 rows of `data`
  stats: dict

  @property
  def heldout_items(self) -> np.ndarray:
    return self.data.item[self.heldout_rows]

  def train_rows_of(self, user: int) -> np.ndarray:
    """Rows of `data` in `user`'s training history, chronological."""
    lo, hi = np.searchsorted(self.data.user, [user, user + 1])
    rows = np.arange(lo, hi)
    return rows[self.train_mask[lo:hi]]


def leave_last_out(data: Interactions, by: str = "user", min_train: int = 2,
                   time_quantile: float = 0.9) -> Split:
  """Splits `data` (sorted by user, then time) as described in the module docstring."""
  if by not in SPLIT_BY:
    raise UserFacingError(f"--split-by: unknown '{by}'; choose from {SPLIT_BY}")
  if min_train < 1:
    raise UserFacingError(f"--min-train must be >= 1, got {min_train}")
  n = len(data)
  starts = np.flatnonzero(np.r_[True, data.user[1:] != data.user[:-1]])
  ends = np.r_[starts[1:], n]
  if by == "user":
    counts = ends - starts
    eligible = counts >= min_train + 1
    heldout = ends[eligible] - 1
    train_mask = np.ones(n, bool)
    train_mask[heldout] = False
    cutoff = None
  else:
    if not 0.0 < time_quantile < 1.0:
      raise UserFacingError(f"--time-quantile must lie strictly between 0 and 1, got {time_quantile}")
    cutoff = int(np.quantile(data.ts, time_quantile))
    train_mask = data.ts < cutoff
    # rows are chronological per user, so a user's first row at/after the cut-off is the first False
    n_before = np.add.reduceat(train_mask.astype(np.int64), starts)
    has_after = n_before < (ends - starts)
    eligible = (n_before >= min_train) & has_after
    heldout = (starts + n_before)[eligible]
  users = data.user[heldout]
  train = sp.csr_matrix((np.ones(int(train_mask.sum()), np.float32),
                         (data.user[train_mask], data.item[train_mask])),
                        shape=(data.n_users, data.n_items))
  train.sum_duplicates()
  warm = np.asarray(train.sum(axis=0)).ravel() > 0
  ok = warm[data.item[heldout]]
  stats = {"split_by": by, "min_train": min_train, "interactions": n, "users": data.n_users,
           "items": data.n_items, "train_interactions": int(train_mask.sum()),
           "duplicates_dropped": data.duplicates_dropped, "skipped_records": data.skipped,
           "eligible_users": int(eligible.sum()), "cold_heldout_dropped": int((~ok).sum()),
           "test_users": int(ok.sum())}
  if cutoff is not None:
    stats.update(time_quantile=time_quantile, cutoff_ts=cutoff)
  if not ok.any():
    raise UserFacingError(f"no user can be evaluated: {stats['eligible_users']} have >= {min_train} "
                          f"training interactions and a held-out one, {stats['cold_heldout_dropped']} "
                          "of those hold out an item unseen in training")
  return Split(data, train_mask, train, users[ok].astype(np.int32), heldout[ok].astype(np.int64), stats)
