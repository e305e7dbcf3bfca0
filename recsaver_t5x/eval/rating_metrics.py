"""Rating-prediction metrics: binary (rating > 3 is positive), 5-class, errors and ROC-AUC.

Unparsed predictions (None) are never dropped silently: `n_unparsed` is always reported and the
policy that decides how they count is explicit:
  * "exclude"     - accuracy/F1/MAE/RMSE over parsed predictions only (coverage = 1 - unparsed/n);
  * "fallback:K"  - an unparsed prediction counts as rating K (e.g. "fallback:3");
  * "distribution" - an unparsed prediction counts as the most probable rating of its
    rating-token distribution (a student's decode with the marker appended, see
    `model.rating_probs`), so no prediction is left out; needs `probs` for every unparsed row.
Probability metrics use every row that has probabilities: they do not depend on text parsing.
AUCs are NaN when a class is absent (ROC-AUC is undefined there).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
from scipy import stats

RATINGS = np.arange(1, 6)
POSITIVE_ABOVE = 3  # the study's binarisation: ratings 4 and 5 are positive.

TABLE3_COLUMNS = (("binary_acc", "Binary Acc"), ("binary_f1", "F1"), ("multi_acc", "Multi Acc"),
                  ("mae", "MAE"), ("rmse", "RMSE"))
AUC_COLUMNS = (("binary_auc", "Binary AUC"), ("multi_auc", "Multi AUC"))


UNPARSED_POLICIES = ("exclude", "fallback:K", "distribution")


def check_unparsed_policy(unparsed: str) -> str:
  """`unparsed` if it names a policy (see the module docstring), else ValueError."""
  if unparsed in ("exclude", "distribution"):
    return unparsed
  if unparsed.startswith("fallback:"):
    try:
      value = float(unparsed.split(":", 1)[1])
    except ValueError:
      value = float("nan")
    if not 1 <= value <= 5:
      raise ValueError(f"fallback rating must be in 1..5, got {unparsed.split(':', 1)[1]}")
    return unparsed
  raise ValueError(f"unknown unparsed policy {unparsed!r}; use 'exclude', 'fallback:K' or "
                   "'distribution'")


def _resolve_predictions(y_pred: Sequence[Optional[float]], unparsed: str,
                         probs: Optional[np.ndarray] = None):
  check_unparsed_policy(unparsed)
  pred = np.array([np.nan if p is None else float(p) for p in y_pred], dtype=np.float64)
  missing = np.isnan(pred)
  if unparsed == "exclude":
    return pred, ~missing
  if unparsed == "distribution":
    if missing.any():
      p = None if probs is None else np.asarray(probs, dtype=np.float64)
      if p is None or not np.isfinite(p[missing]).all():
        raise ValueError("the 'distribution' policy needs rating probabilities for every "
                         "unparsed prediction")
      pred = np.where(missing, np.argmax(p, axis=1) + RATINGS[0], pred)
    return pred, np.ones_like(missing)
  value = float(unparsed.split(":", 1)[1])  # "fallback:K", checked above
  return np.where(missing, value, pred), np.ones_like(missing)


def binary_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
  """ROC-AUC via the Mann-Whitney U statistic (ties get half credit)."""
  y_true = np.asarray(y_true, dtype=bool)
  n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  ranks = stats.rankdata(scores)
  u = ranks[y_true].sum() - n_pos * (n_pos + 1) / 2.0
  return float(u / (n_pos * n_neg))


def multiclass_auc(y_true: np.ndarray, probs: np.ndarray) -> float:
  """One-vs-rest macro ROC-AUC over ratings 1..5 (NaN if any class is absent, as sklearn)."""
  aucs = [binary_auc(y_true == r, probs[:, r - 1]) for r in RATINGS]
  return float("nan") if any(math.isnan(a) for a in aucs) else float(np.mean(aucs))


def rating_metrics(y_true: Sequence[int], y_pred: Sequence[Optional[float]],
                   probs: Optional[np.ndarray] = None, unparsed: str = "exclude") -> dict:
  """Computes the study's rating metrics.

  Args:
    y_true: true ratings in 1..5.
    y_pred: predicted ratings (ints or floats in 1..5) or None where the output was unparsed.
    probs: optional [n, 5] probabilities of ratings 1..5 (rows need not be normalised).
    unparsed: policy for None predictions, see the module docstring ("distribution" reads
      them from `probs`).

  Returns:
    dict with n, n_unparsed, unparsed_policy, binary_acc, binary_f1, multi_acc, mae, rmse and,
    with probs, binary_auc and multi_auc.
  """
  y = np.asarray(y_true, dtype=np.float64)
  if len(y) != len(y_pred):
    raise ValueError(f"{len(y)} true ratings but {len(y_pred)} predictions")
  pred, used = _resolve_predictions(y_pred, unparsed, probs)
  n_unparsed = int(sum(p is None for p in y_pred))
  yt, yp = y[used], pred[used]
  out = {"n": int(len(y)), "n_unparsed": n_unparsed, "unparsed_policy": unparsed}
  if len(yt):
    bt, bp = yt > POSITIVE_ABOVE, yp > POSITIVE_ABOVE
    tp = float(np.sum(bt & bp))
    denom = float(np.sum(bt) + np.sum(bp))
    err = yp - yt
    out.update(
        binary_acc=float(np.mean(bt == bp)),
        binary_f1=2 * tp / denom if denom else 0.0,
        multi_acc=float(np.mean(np.rint(yp) == yt)),
        mae=float(np.mean(np.abs(err))),
        rmse=float(np.sqrt(np.mean(err ** 2))))
  else:
    out.update({k: float("nan") for k in ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse")})
  if probs is not None:
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (len(y), 5):
      raise ValueError(f"probs must have shape ({len(y)}, 5), got {p.shape}")
    p = p / p.sum(axis=1, keepdims=True)
    out["binary_auc"] = binary_auc(y > POSITIVE_ABOVE, p[:, 3] + p[:, 4])
    out["multi_auc"] = multiclass_auc(y.astype(int), p)
  return out


def format_table(rows: Sequence[tuple[str, dict]], columns=TABLE3_COLUMNS,
                 extra: Sequence[tuple[str, str]] = (("n", "n"), ("n_unparsed", "unparsed"),
                                                     ("unparsed_policy", "unparsed policy"))) -> str:
  """A markdown table, one row per method, in the layout of the study's Table 3.

  The default extra columns say how many predictions were unparsed and how they counted.
  """
  cols = list(columns) + list(extra)
  header = "| Method | " + " | ".join(title for _, title in cols) + " |"
  lines = [header, "|" + "---|" * (len(cols) + 1)]
  for name, m in rows:
    cells = []
    for key, _ in cols:
      v = m.get(key)
      if v is None or (isinstance(v, float) and math.isnan(v)):
        cells.append("-")
      elif isinstance(v, float):
        cells.append(f"{v:.4f}")
      else:
        cells.append(str(v))
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  return "\n".join(lines)
