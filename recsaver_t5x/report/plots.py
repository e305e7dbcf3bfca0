"""The report's plots, each a pure function of its data that writes one PNG."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: reports are written on servers and in CI
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

RATINGS = [1, 2, 3, 4, 5]


def _save(fig, path: str) -> str:
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[Optional[int]], path: str, title: str) -> str:
  """Counts of predicted vs true ratings; unparsed predictions get their own column."""
  m = np.zeros((5, 6), dtype=int)
  for t, p in zip(y_true, y_pred):
    m[int(t) - 1, 5 if p is None else int(round(p)) - 1] += 1
  fig, ax = plt.subplots(figsize=(4.8, 4))
  ax.imshow(m, cmap="Blues")
  for i in range(5):
    for j in range(6):
      ax.text(j, i, str(m[i, j]), ha="center", va="center", color="black" if m[i, j] < m.max() / 2 else "white")
  ax.set_xticks(range(6), ["1", "2", "3", "4", "5", "?"])
  ax.set_yticks(range(5), [str(r) for r in RATINGS])
  ax.set_xlabel("predicted rating (? = unparsed)")
  ax.set_ylabel("true rating")
  ax.set_title(title, fontsize=9)
  return _save(fig, path)


def calibration(y_true: Sequence[int], probs: np.ndarray, path: str, title: str, bins: int = 10) -> str:
  """Reliability diagram of P(rating > 3) = P(4) + P(5) against the observed positive rate."""
  y = np.asarray(y_true) > 3
  p = np.asarray(probs, dtype=float)
  p = (p / p.sum(axis=1, keepdims=True))[:, 3:].sum(axis=1)
  edges = np.linspace(0, 1, bins + 1)
  idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
  centers, rates, counts = [], [], []
  for b in range(bins):
    sel = idx == b
    if sel.any():
      centers.append(p[sel].mean()); rates.append(y[sel].mean()); counts.append(int(sel.sum()))
  fig, ax = plt.subplots(figsize=(4.5, 4))
  ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect")
  ax.plot(centers, rates, "o-", label="model")
  for c, r, n in zip(centers, rates, counts):
    ax.annotate(str(n), (c, r), fontsize=7, xytext=(3, 3), textcoords="offset points")
  ax.set_xlabel("predicted P(rating > 3)")
  ax.set_ylabel("observed fraction > 3")
  ax.set_xlim(0, 1); ax.set_ylim(0, 1)
  ax.legend(fontsize=8)
  ax.set_title(title, fontsize=9)
  return _save(fig, path)


def training_curves(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], path: str,
                    title: str = "training loss",
                    per_token: Optional[Mapping[str, tuple[Sequence[int], Sequence[float]]]] = None
                    ) -> str:
  """One line per run: (steps, losses); with `per_token`, a second panel of the per-token
  cross-entropy (T5X's loss is summed over target tokens, so it grows with target length and
  only the per-token value compares students with different targets)."""
  panels = [(curves, "loss (summed over target tokens)")]
  if per_token:
    panels.append((per_token, "cross-entropy per target token"))
  fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.5), squeeze=False)
  for ax, (series, ylabel) in zip(axes[0], panels):
    for name, (steps, values) in series.items():
      ax.plot(steps, values, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if series:
      ax.legend(fontsize=7)
  return _save(fig, path)


def distributions(values: Mapping[str, Sequence[float]], path: str, title: str) -> str:
  """A histogram per metric (e.g. per-example BLEU, ROUGE-1, METEOR, BERTScore)."""
  names = list(values)
  fig, axes = plt.subplots(1, max(1, len(names)), figsize=(3 * max(1, len(names)), 2.8), squeeze=False)
  for ax, name in zip(axes[0], names):
    v = np.asarray(values[name], dtype=float)
    ax.hist(v[~np.isnan(v)], bins=15, color="tab:green")
    ax.set_title(f"{name} (n={len(v)})", fontsize=8)
  fig.suptitle(title, fontsize=9)
  return _save(fig, path)


def bars(values: Mapping[str, float], path: str, title: str, ylabel: str) -> str:
  """A bar chart, e.g. the reference verification pass rate per true rating."""
  fig, ax = plt.subplots(figsize=(4.5, 3))
  keys = list(values)
  ax.bar(keys, [values[k] for k in keys], color="tab:purple")
  ax.set_ylim(0, 1)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  return _save(fig, path)
