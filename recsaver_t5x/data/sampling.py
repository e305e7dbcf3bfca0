"""Label-balanced, user-disjoint train/test selection (a pure function of its inputs and seed)."""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

from recsaver_t5x.data.records import RATINGS
from recsaver_t5x.errors import UserFacingError


@dataclasses.dataclass(frozen=True)
class Selection:
  train: np.ndarray  # indices into the candidate arrays
  test: np.ndarray
  requested: dict  # split -> per-label count asked for
  shortfalls: dict  # "train"/"test" -> {label: missing count}; empty when balanced

  def counts(self, labels: np.ndarray, ratings: Sequence[int] = RATINGS) -> dict:
    return {split: {int(r): int(np.sum(labels[idx] == r)) for r in ratings}
            for split, idx in (("train", self.train), ("test", self.test))}


def balanced_split(users: np.ndarray, labels: np.ndarray, n_train: int, n_test: int, seed: int,
                   mode: str = "strict", max_per_user: Optional[int] = None,
                   ratings: Sequence[int] = RATINGS) -> Selection:
  """Selects up to n_train/n_test examples per rating with no user in both splits.

  Test examples are drawn first, rarest label first, so the scarce labels reach the test set;
  then train draws from users not used by test. In "strict" mode any shortfall is an error naming
  the label and the amount; in "cap" mode each label takes what exists, and scarce labels are
  divided between the splits in the requested train:test proportion.
  """
  if mode not in ("strict", "cap"):
    raise UserFacingError(f"unknown sampling mode {mode!r}; use 'strict' or 'cap'")
  users, labels = np.asarray(users), np.asarray(labels)
  rng = np.random.default_rng(seed)
  perm = rng.permutation(len(labels))
  by_label = {int(r): perm[labels[perm] == r] for r in ratings}
  avail = {r: len(ix) for r, ix in by_label.items()}
  order = sorted(ratings, key=lambda r: (avail[r], r))
  owner: dict = {}  # user -> split
  taken: dict = {"train": {}, "test": {}}

  def take(split: str, quota: int, candidates: np.ndarray) -> list[int]:
    got: list[int] = []
    for i in candidates:
      if len(got) >= quota:
        break
      u = users[i]
      if owner.get(u, split) != split:
        continue
      if max_per_user is not None and taken[split].get(u, 0) >= max_per_user:
        continue
      owner[u] = split
      taken[split][u] = taken[split].get(u, 0) + 1
      got.append(int(i))
    return got

  test, train = [], []
  for r in order:
    quota = n_test
    if mode == "cap" and avail[r] < n_train + n_test:
      quota = min(n_test, math.ceil(avail[r] * n_test / max(1, n_train + n_test)))
    test += take("test", quota, by_label[r])
  chosen = set(test)
  for r in order:
    train += take("train", n_train, np.array([i for i in by_label[r] if i not in chosen], dtype=int))
  requested = {"train": n_train, "test": n_test}
  sel = Selection(np.array(sorted(train), dtype=int), np.array(sorted(test), dtype=int), requested, {})
  counts = sel.counts(labels, ratings)
  short = {s: {r: requested[s] - c for r, c in counts[s].items() if c < requested[s]}
           for s in requested}
  short = {s: v for s, v in short.items() if v}
  if short and mode == "strict":
    parts = []
    for r in ratings:
      bits = [f"{s} {counts[s][r]}/{requested[s]} (short {short[s][r]})"
              for s in requested if r in short.get(s, {})]
      if bits:
        parts.append(f"rating {r} ({avail[r]} eligible): " + ", ".join(bits))
    raise UserFacingError("balanced sampling cannot reach the requested counts: " + "; ".join(parts)
                          + ". Use --mode cap to take what exists, or lower the per-label counts.")
  return dataclasses.replace(sel, shortfalls=short)
