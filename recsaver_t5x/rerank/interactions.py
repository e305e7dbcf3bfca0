"""Raw Amazon review files -> integer-coded user-item interactions, in time order.

A user-item pair counts once (its earliest review; a re-review is not a new interaction), so a
held-out item can never also be a training item of the same user. Texts are kept only when asked
(the rerankers need them for prompts; the retriever does not).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from recsaver_t5x.data import readers
from recsaver_t5x.data.records import Item
from recsaver_t5x.errors import UserFacingError


@dataclasses.dataclass(frozen=True)
class Interactions:
  """Interactions sorted by (user, time, file order); `user`/`item` index `user_ids`/`item_ids`."""

  user_ids: np.ndarray        # [n_users] str
  item_ids: np.ndarray        # [n_items] str
  user: np.ndarray            # [n] int32
  item: np.ndarray            # [n] int32
  rating: np.ndarray          # [n] int8
  ts: np.ndarray              # [n] int64
  review: Optional[list]      # [n] review texts (None unless read with keep_text)
  summary: Optional[list]
  duplicates_dropped: int = 0
  skipped: int = 0

  @property
  def n_users(self) -> int:
    return len(self.user_ids)

  @property
  def n_items(self) -> int:
    return len(self.item_ids)

  def __len__(self) -> int:
    return len(self.user)


def read_interactions(paths: Sequence[str], keep_text: bool = True, skip_bad: bool = False,
                      progress: bool = True) -> Interactions:
  """Streams review files (2014 or 2018 layout, gzip or plain) into Interactions."""
  if not paths:
    raise UserFacingError("no review files given")
  for p in paths:
    if not os.path.isfile(p):
      raise UserFacingError(f"{p}: no such file")
  skips = readers.SkipCounter(skip_bad)
  users, items, ratings, ts, order = [], [], [], [], []
  reviews: list = []
  summaries: list = []
  for path in paths:
    bar = tqdm(readers.iter_reviews(path, skips), desc=f"read {os.path.basename(path)}",
               unit=" reviews", unit_scale=True, mininterval=1.0, disable=not progress)
    for r in bar:
      users.append(r.user_id); items.append(r.asin); ratings.append(r.rating); ts.append(r.timestamp)
      if keep_text:
        reviews.append(r.review); summaries.append(r.summary)
  n = len(users)
  if n == 0:
    raise UserFacingError(f"{paths[0]}: no valid reviews")
  user_codes, user_ids = pd.factorize(pd.Series(users, dtype=object), sort=True)
  item_codes, item_ids = pd.factorize(pd.Series(items, dtype=object), sort=True)
  del users, items
  ts_arr = np.asarray(ts, np.int64)
  # chronological per user; ties keep file order (the row number), as `recsaver prepare` does
  idx = np.lexsort((np.arange(n), ts_arr, user_codes))
  u, i = user_codes[idx].astype(np.int32), item_codes[idx].astype(np.int32)
  pair = u.astype(np.int64) * len(item_ids) + i
  _, first = np.unique(pair, return_index=True)   # earliest review of each (user, item)
  keep = np.sort(first)
  idx = idx[keep]
  pick = (lambda seq: [seq[j] for j in idx]) if keep_text else (lambda seq: None)
  return Interactions(
      user_ids=np.asarray(user_ids, dtype=object), item_ids=np.asarray(item_ids, dtype=object),
      user=u[keep], item=i[keep], rating=np.asarray(ratings, np.int8)[idx], ts=ts_arr[idx],
      review=pick(reviews), summary=pick(summaries), duplicates_dropped=n - len(keep),
      skipped=skips.total)


def read_items(paths: Sequence[str], wanted: set, skip_bad: bool = False) -> dict[str, Item]:
  """Item metadata for the `wanted` asins (missing metadata stays missing)."""
  skips = readers.SkipCounter(skip_bad)
  out: dict[str, Item] = {}
  for path in paths:
    if not os.path.isfile(path):
      raise UserFacingError(f"{path}: no such file")
    for item in readers.iter_meta(path, skips, wanted=wanted):
      if item.asin in wanted and item.asin not in out:
        out[item.asin] = item
  return out
