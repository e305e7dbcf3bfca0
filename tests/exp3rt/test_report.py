"""The EXP3RT table: same examples in every row, read-outs vs scikit-learn."""
import json
import math

from sklearn.metrics import mean_absolute_error, mean_squared_error

from recsaver_t5x import cli
from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.prepare import PrepareConfig, prepare

MAG = "magazine_subscriptions"


def test_table_rows_share_examples(amazon_dir, tmp_path):
  d = amazon_dir / MAG
  prep = tmp_path / "prep"
  prepare(PrepareConfig(domain=MAG, reviews=(str(d / "Magazine_Subscriptions_5.json.gz"),),
                        train_per_label=4, test_per_label=2), str(prep))
  test = data_io.read_split(str(prep), "test")
  # A first-study student file (evaluate's layout) that missed one example and failed one parse.
  reason = tmp_path / "predictions_reason.jsonl"
  with open(reason, "w") as f:
    for k, ex in enumerate(test[1:]):
      f.write(json.dumps({"example_id": ex.example_id, "domain": MAG, "true_rating": ex.true_rating,
                          "text": "x", "rating": None if k == 0 else 4, "unparsed_reason": None,
                          "probs": [0, 0, 0, 1, 0], "marker_appended": False}) + "\n")
  out = tmp_path / "exp3rt.md"
  assert cli.main(["exp3rt-report", str(prep), "--out", str(out), "--reasoning", str(reason),
                   "--reasoning-labels", "reasoning student"]) == 0
  text = out.read_text()
  assert f"({len(test) - 1} test examples" in text
  row = next(l for l in text.splitlines() if l.startswith("| reasoning student"))
  cells = [c.strip() for c in row.strip("|").split("|")]
  y = [ex.true_rating for ex in test[1:]]
  parsed = [3] + [4] * (len(y) - 1)  # the unparsed one at the midpoint 3
  assert math.isclose(float(cells[1]), math.sqrt(mean_squared_error(y, parsed)), abs_tol=1e-4)
  assert math.isclose(float(cells[2]), mean_absolute_error(y, parsed), abs_tol=1e-4)
  assert math.isclose(float(cells[4]), mean_absolute_error(y, [4] * len(y)), abs_tol=1e-4)
  assert cells[-2:] == [str(len(y)), "1"]
