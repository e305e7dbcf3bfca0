"""Rating read-outs (EXP3RT's and ours) and their errors, every example counted.

Three read-outs per prediction, on the domain's scale (low..high):
  parsed    the rating written after "### Rating ###" (the toolkit's parser);
  argmax    the most probable rating token (one token per rating value);
  expected  sum_k k * P(k) over the rating tokens (a real number).
argmax and expected exist for every example that was scored. A parsed read-out can be missing
(unparsed text); it is then scored at the scale's midpoint and counted in `n_missing` -- never
dropped from the sum while kept in the divisor (EXP3RT's script does that), never silently
dropped from both.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from recsaver_t5x.scale import RatingScale

READOUTS = ("parsed", "argmax", "expected")


def midpoint(scale: RatingScale) -> float:
  return (scale.low + scale.high) / 2


def expected_rating(probs: Sequence[float], scale: RatingScale) -> float:
  p = np.asarray(probs, np.float64)
  return float(p @ np.asarray(scale.values, np.float64) / p.sum())


def argmax_rating(probs: Sequence[float], scale: RatingScale) -> int:
  return scale.values[int(np.argmax(np.asarray(probs)))]


def errors(y_true: Sequence[int], y_pred: Sequence[Optional[float]], scale: RatingScale) -> dict:
  """RMSE and MAE over ALL examples; a missing prediction is scored at the midpoint."""
  n = len(y_true)
  missing = sum(p is None or (isinstance(p, float) and math.isnan(p)) for p in y_pred)
  filled = np.asarray([midpoint(scale) if (p is None or (isinstance(p, float) and math.isnan(p)))
                       else float(p) for p in y_pred], np.float64)
  truth = np.asarray(y_true, np.float64)
  if n == 0:
    return {"rmse": float("nan"), "mae": float("nan"), "n": 0, "n_missing": 0,
            "missing_policy": "midpoint"}
  diff = filled - truth
  return {"rmse": float(np.sqrt(np.mean(diff ** 2))), "mae": float(np.mean(np.abs(diff))),
          "n": n, "n_missing": int(missing), "missing_policy": f"midpoint:{midpoint(scale):g}"}


def readout_metrics(y_true: Sequence[int], parsed: Sequence[Optional[int]],
                    probs: Sequence[Sequence[float]], scale: RatingScale) -> dict:
  """{read-out: errors} for parsed, argmax and expected."""
  return {"parsed": errors(y_true, parsed, scale),
          "argmax": errors(y_true, [argmax_rating(p, scale) for p in probs], scale),
          "expected": errors(y_true, [expected_rating(p, scale) for p in probs], scale)}
