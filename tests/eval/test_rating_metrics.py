"""Rating metrics against sklearn on random inputs."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from recsaver_t5x.eval import rating_metrics as rm


def _random(seed, n=200, with_none=0):
  rng = np.random.default_rng(seed)
  y = rng.integers(1, 6, n)
  pred = rng.integers(1, 6, n).tolist()
  for i in rng.choice(n, with_none, replace=False):
    pred[i] = None
  probs = rng.dirichlet(np.ones(5), n)
  return y, pred, probs


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn(seed):
  y, pred, probs = _random(seed)
  m = rm.rating_metrics(y, pred, probs)
  p = np.array(pred)
  assert m["binary_acc"] == pytest.approx(skm.accuracy_score(y > 3, p > 3))
  assert m["binary_f1"] == pytest.approx(skm.f1_score(y > 3, p > 3))
  assert m["multi_acc"] == pytest.approx(skm.accuracy_score(y, p))
  assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
  assert m["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, p)))
  assert m["binary_auc"] == pytest.approx(skm.roc_auc_score(y > 3, probs[:, 3] + probs[:, 4]))
  assert m["multi_auc"] == pytest.approx(
      skm.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=[1, 2, 3, 4, 5]))
  assert m["n"] == len(y) and m["n_unparsed"] == 0


def test_auc_with_ties_matches_sklearn():
  rng = np.random.default_rng(7)
  y = rng.integers(1, 6, 300)
  probs = np.round(rng.dirichlet(np.ones(5), 300), 1) + 1e-3  # many ties
  m = rm.rating_metrics(y, list(y), probs)
  assert m["binary_auc"] == pytest.approx(skm.roc_auc_score(y > 3, (probs / probs.sum(1, keepdims=True))[:, 3:].sum(1)))


def test_unparsed_exclude_and_fallback_are_explicit():
  y, pred, _ = _random(3, n=100, with_none=10)
  ex = rm.rating_metrics(y, pred, unparsed="exclude")
  keep = [i for i, p in enumerate(pred) if p is not None]
  assert ex["n_unparsed"] == 10 and ex["unparsed_policy"] == "exclude"
  assert ex["mae"] == pytest.approx(skm.mean_absolute_error(y[keep], np.array(pred, dtype=object)[keep].astype(int)))
  fb = rm.rating_metrics(y, pred, unparsed="fallback:3")
  filled = np.array([3 if p is None else p for p in pred])
  assert fb["n_unparsed"] == 10
  assert fb["multi_acc"] == pytest.approx(skm.accuracy_score(y, filled))
  with pytest.raises(ValueError):
    rm.rating_metrics(y, pred, unparsed="drop")


def test_auc_undefined_when_class_missing_and_empty_input():
  m = rm.rating_metrics([5, 5, 4], [5, 4, 4], np.full((3, 5), 0.2))
  assert math.isnan(m["binary_auc"]) and math.isnan(m["multi_auc"])
  e = rm.rating_metrics([], [])
  assert e["n"] == 0 and math.isnan(e["mae"])


def test_format_table_layout():
  table = rm.format_table([("naive", {"binary_acc": 0.5, "binary_f1": float("nan"), "multi_acc": 0.25,
                                      "mae": 1.0, "rmse": 1.5, "n": 4, "n_unparsed": 0})])
  header, rule, row = table.splitlines()
  assert header == ("| Method | Binary Acc | F1 | Multi Acc | MAE | RMSE | n | unparsed | "
                    "unparsed policy |")
  assert row == "| naive | 0.5000 | - | 0.2500 | 1.0000 | 1.5000 | 4 | 0 | - |"


def test_unparsed_distribution_policy_reads_the_rating_distribution():
  """'distribution': an unparsed prediction is the argmax of its rating probabilities."""
  y, pred, probs = _random(4, n=120, with_none=15)
  m = rm.rating_metrics(y, pred, probs, unparsed="distribution")
  filled = np.array([np.argmax(probs[i]) + 1 if p is None else p for i, p in enumerate(pred)])
  assert m["n"] == 120 and m["n_unparsed"] == 15 and m["unparsed_policy"] == "distribution"
  assert m["multi_acc"] == pytest.approx(skm.accuracy_score(y, filled))
  assert m["binary_f1"] == pytest.approx(skm.f1_score(y > 3, filled > 3))
  assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, filled))
  # parsed predictions are kept as they are, whatever their distribution says
  assert m == rm.rating_metrics(y, [p if p is not None else int(f) for p, f in zip(pred, filled)],
                                probs, unparsed="distribution") | {"n_unparsed": 15}
  with pytest.raises(ValueError, match="distribution"):
    rm.rating_metrics(y, pred, None, unparsed="distribution")
  bad = probs.copy()
  bad[[i for i, p in enumerate(pred) if p is None][0]] = np.nan
  with pytest.raises(ValueError, match="distribution"):
    rm.rating_metrics(y, pred, bad, unparsed="distribution")


@pytest.mark.parametrize("policy", ["drop", "fallback:9", "fallback:x", ""])
def test_bad_unparsed_policy(policy):
  with pytest.raises(ValueError):
    rm.check_unparsed_policy(policy)


def test_policy_in_every_table_row():
  rows = [(name, rm.rating_metrics([1, 5], [None, 5], np.eye(5)[[0, 4]], unparsed=policy))
          for name, policy in (("a", "exclude"), ("b", "fallback:3"), ("c", "distribution"))]
  lines = rm.format_table(rows).splitlines()[2:]
  assert [l.rsplit("|", 2)[-2].strip() for l in lines] == ["exclude", "fallback:3", "distribution"]
