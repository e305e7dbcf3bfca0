"""Statistics of the human-alignment study: Cohen's kappa, Spearman's rho, two-sample t-tests.

Written from the textbook formulas (numpy, with scipy only for the t distribution) so that the
tests can check them against sklearn and scipy. Undefined values (constant input, too few
items) are NaN, never an exception: a table cell then reads "n/a".
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

NAN = float("nan")


def cohen_kappa(a: Sequence[int], b: Sequence[int], categories: Sequence[int],
                weights: Optional[str] = None) -> float:
  """Cohen's kappa of two raters over the same items.

  Args:
    a, b: the two raters' labels, item by item.
    categories: the ordered label set of the scale (e.g. 1..5); it fixes the weights, so a
      category nobody used still counts in the distances (as sklearn with `labels=`).
    weights: None (unweighted), "linear" or "quadratic" (the usual choice for Likert scales).
  """
  a, b = np.asarray(a), np.asarray(b)
  if a.shape != b.shape:
    raise ValueError(f"kappa needs paired labels, got {a.shape} and {b.shape}")
  cats = list(categories)
  index = {c: i for i, c in enumerate(cats)}
  k = len(cats)
  observed = np.zeros((k, k))
  for x, y in zip(a.tolist(), b.tolist()):
    observed[index[x], index[y]] += 1
  n = observed.sum()
  if n == 0:
    return NAN
  expected = np.outer(observed.sum(1), observed.sum(0)) / n
  i, j = np.indices((k, k))
  if weights is None:
    w = (i != j).astype(float)
  elif weights == "linear":
    w = np.abs(i - j).astype(float)
  elif weights == "quadratic":
    w = ((i - j) ** 2).astype(float)
  else:
    raise ValueError(f"unknown kappa weights {weights!r}")
  denom = float((w * expected).sum())
  if denom == 0:  # both raters used one and the same category: kappa is undefined
    return NAN
  return 1.0 - float((w * observed).sum()) / denom


def rank_average(x: Sequence[float]) -> np.ndarray:
  """Ranks 1..n, ties get the average of the ranks they span."""
  x = np.asarray(x, dtype=float)
  order = np.argsort(x, kind="mergesort")
  ranks = np.empty(len(x))
  sorted_x = x[order]
  i = 0
  while i < len(x):
    j = i
    while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
      j += 1
    ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
    i = j + 1
  return ranks


@dataclasses.dataclass(frozen=True)
class Correlation:
  """A correlation coefficient, its two-sided p-value and the number of pairs."""

  rho: float
  p: float
  n: int


def pearson(x: Sequence[float], y: Sequence[float]) -> Correlation:
  """Pearson's r; two-sided p from Student's t with n-2 degrees of freedom."""
  from scipy import stats  # pylint: disable=import-outside-toplevel
  x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
  n = len(x)
  if n != len(y):
    raise ValueError(f"correlation needs paired values, got {n} and {len(y)}")
  if n < 3:
    return Correlation(NAN, NAN, n)
  dx, dy = x - x.mean(), y - y.mean()
  denom = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
  if denom == 0:
    return Correlation(NAN, NAN, n)
  r = max(-1.0, min(1.0, float((dx * dy).sum()) / denom))
  if abs(r) == 1.0:
    return Correlation(r, 0.0, n)
  t = r * math.sqrt((n - 2) / (1.0 - r * r))
  return Correlation(r, float(2 * stats.t.sf(abs(t), n - 2)), n)


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
  """Spearman's rho (Pearson on average ranks) with the t-approximation p-value (as scipy)."""
  return pearson(rank_average(x), rank_average(y)) if len(x) == len(y) else pearson(x, y)


@dataclasses.dataclass(frozen=True)
class TTest:
  """A two-sample t-test: statistic, two-sided p-value, degrees of freedom, group means/sizes."""

  t: float
  p: float
  df: float
  mean_a: float
  mean_b: float
  n_a: int
  n_b: int


def ttest_ind(a: Sequence[float], b: Sequence[float], equal_var: bool = True) -> TTest:
  """Student's (pooled variance) or Welch's two-sample t-test, two-sided."""
  from scipy import stats  # pylint: disable=import-outside-toplevel
  a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
  na, nb = len(a), len(b)
  ma = float(a.mean()) if na else NAN
  mb = float(b.mean()) if nb else NAN
  if na < 2 or nb < 2:
    return TTest(NAN, NAN, NAN, ma, mb, na, nb)
  va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
  if equal_var:
    df = na + nb - 2.0
    pooled = ((na - 1) * va + (nb - 1) * vb) / df
    se = math.sqrt(pooled * (1.0 / na + 1.0 / nb))
  else:
    sa, sb = va / na, vb / nb
    se = math.sqrt(sa + sb)
    df = (sa + sb) ** 2 / (sa * sa / (na - 1) + sb * sb / (nb - 1)) if se > 0 else NAN
  if se == 0:
    return TTest(NAN, NAN, df, ma, mb, na, nb)
  t = (ma - mb) / se
  return TTest(t, float(2 * stats.t.sf(abs(t), df)), df, ma, mb, na, nb)
