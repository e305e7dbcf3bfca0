"""Zero-shot scoring helpers: label-balanced --limit, AUCs over answers that carry probabilities."""
import math

import pytest

from recsaver_t5x.eval.rating_metrics import rating_metrics
from recsaver_t5x.teacher.zeroshot import Prediction, stratified_head, score
from tests.teacher.conftest import make_example


def test_stratified_head_is_round_robin_over_ratings():
  exs = [make_example(i, rating=r) for i, r in enumerate([1, 1, 1, 2, 2, 5, 5, 5, 5, 3])]
  head = stratified_head(exs, 6)
  assert [e.true_rating for e in head] == [1, 2, 3, 5, 1, 2]
  assert [e.example_id for e in head[:2]] == ["ex0", "ex3"]  # file order within a rating
  assert stratified_head(exs, None) == exs and stratified_head(exs, 99) == exs


def test_score_uses_shared_metrics_and_aucs_over_rows_with_probs():
  truth = [1, 2, 3, 4, 5, 5, 1, 4]
  rated = [1, 3, None, 4, 5, 4, 2, None]
  probs = [(0.7, 0.1, 0.1, 0.05, 0.05), (0.1, 0.3, 0.4, 0.1, 0.1), None, (0.0, 0.1, 0.1, 0.6, 0.2),
           (0.0, 0.0, 0.1, 0.2, 0.7), (0.1, 0.1, 0.1, 0.4, 0.3), (0.3, 0.4, 0.1, 0.1, 0.1), None]
  preds = [Prediction(f"e{i}", "reasoning", t, r, None if r else "x", p, i % 2 == 0, "stop")
           for i, (t, r, p) in enumerate(zip(truth, rated, probs))]
  m = score(preds)
  ref = rating_metrics(truth, rated)
  for k in ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse", "n", "n_unparsed"):
    assert m[k] == ref[k]
  keep = [i for i, p in enumerate(probs) if p is not None]
  sub = rating_metrics([truth[i] for i in keep], [rated[i] for i in keep], probs=[probs[i] for i in keep])
  assert m["binary_auc"] == pytest.approx(sub["binary_auc"]) and not math.isnan(m["binary_auc"])
  assert m["n_with_probs"] == 6 and m["n_truncated"] == 4
  assert "binary_auc" not in score([p.__class__(**{**p.__dict__, "probs": None}) for p in preds])
