"""Read-outs against hand computations; every example counted; metrics vs scikit-learn."""
import math

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error

from recsaver_t5x.exp3rt import readout
from recsaver_t5x.scale import RatingScale


def test_expected_and_argmax_by_hand():
  s5 = RatingScale()
  p = [0.1, 0.2, 0.3, 0.25, 0.15]
  assert math.isclose(readout.expected_rating(p, s5), 1 * .1 + 2 * .2 + 3 * .3 + 4 * .25 + 5 * .15)
  assert readout.argmax_rating(p, s5) == 3
  s10 = RatingScale(1, 10, 6)
  p10 = [0] * 8 + [0.5, 0.5]
  assert readout.expected_rating(p10, s10) == 9.5 and readout.argmax_rating(p10, s10) == 9


def test_missing_parsed_predictions_count_in_sum_and_divisor():
  s = RatingScale()
  r = readout.errors([5, 1, 3], [5, None, 3], s)
  # the unparsed one is scored at the midpoint 3: |3 - 1| = 2 in the sum, n = 3
  assert r["n"] == 3 and r["n_missing"] == 1
  assert math.isclose(r["mae"], 2 / 3) and math.isclose(r["rmse"], math.sqrt(4 / 3))
  y, yp = [5, 1, 3], [5, 3, 3]
  assert math.isclose(r["mae"], mean_absolute_error(y, yp))
  assert math.isclose(r["rmse"], math.sqrt(mean_squared_error(y, yp)))


def test_readout_metrics_all_three():
  s = RatingScale()
  probs = np.eye(5)[[4, 0]]
  m = readout.readout_metrics([5, 2], [4, None], probs, s)
  assert m["argmax"]["mae"] == 0.5 and m["expected"]["mae"] == 0.5
  assert m["parsed"]["mae"] == (1 + 1) / 2
