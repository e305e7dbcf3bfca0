"""Matrix-factorisation rating baseline: cornac's biased MF (explicit ratings, SGD).

Training ratings: every corpus review except the test targets and every review a test user wrote
at or after their target's time (the user's future); other users' reviews are all kept, as in
EXP3RT's random-split MF baseline. A test user or item unseen in training is predicted at the
training mean (counted in `n_cold`). Predictions are clipped to the rating scale.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from recsaver_t5x.data.records import Example
from recsaver_t5x.exp3rt.corpus import Corpus, iter_reviews
from recsaver_t5x.scale import RatingScale


@dataclasses.dataclass(frozen=True)
class MFConfig:
  factors: int = 10
  max_iter: int = 200
  learning_rate: float = 0.01
  lambda_reg: float = 0.02
  seed: int = 0


def training_triples(corpus: Corpus, test: Sequence[Example]) -> list[tuple[str, str, float]]:
  """(user, item, rating) of every review MF may learn from (see module docstring)."""
  cutoff = {ex.user_id: ex.timestamp for ex in test}
  return [(r.user_id, r.asin, float(r.rating)) for r in iter_reviews(corpus)
          if r.user_id not in cutoff or r.timestamp < cutoff[r.user_id]]


def predict(corpus: Corpus, test: Sequence[Example], scale: RatingScale,
            cfg: MFConfig = MFConfig()) -> tuple[list[float], int]:
  """(one real-valued prediction per test example, how many were cold-start)."""
  import cornac  # pylint: disable=import-outside-toplevel
  triples = training_triples(corpus, test)
  train = cornac.data.Dataset.from_uir(triples, seed=cfg.seed)
  model = cornac.models.MF(k=cfg.factors, max_iter=cfg.max_iter, learning_rate=cfg.learning_rate,
                           lambda_reg=cfg.lambda_reg, use_bias=True, early_stop=False,
                           seed=cfg.seed, verbose=False)
  model.fit(train)
  mean = float(np.mean([t[2] for t in triples]))
  preds, cold = [], 0
  for ex in test:
    u, i = train.uid_map.get(ex.user_id), train.iid_map.get(ex.target.asin)
    if u is None or i is None:
      preds.append(mean)
      cold += 1
      continue
    preds.append(float(np.clip(model.score(u, i), scale.low, scale.high)))
  return preds, cold
