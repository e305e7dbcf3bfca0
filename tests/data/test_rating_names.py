"""true_rating / predicted_rating: the new names are written; records with the old "rating" key
(prepared dirs and prediction files of the previous release) still load."""
import json

from recsaver_t5x.data.records import Example


def test_example_writes_true_rating_and_reads_the_old_key():
  d = {"example_id": "e", "domain": "d", "user_id": "u", "timestamp": 5, "split": "test",
       "history": [{"item": {"asin": "a"}, "rating": 2, "review": "ok", "summary": None,
                    "timestamp": 1}], "target": {"asin": "t"}}
  new = Example.from_dict({**d, "true_rating": 4})
  assert new.to_dict()["true_rating"] == 4 and "rating" not in new.to_dict()
  assert Example.from_dict({**d, "rating": 4}) == new


def test_old_prediction_files_resume(tmp_path):
  from recsaver_t5x.trainer import evaluate_lib
  path = tmp_path / "predictions_t.jsonl"
  old = {"example_id": "e", "domain": "d", "true_rating": 3, "text": "### Rating ###\n4",
         "rating": 4, "unparsed_reason": None, "probs": [0.2] * 5, "marker_appended": False}
  path.write_text(json.dumps(old) + "\n")
  p = evaluate_lib._read_predictions(str(path))["e"]  # pylint: disable=protected-access
  assert (p.true_rating, p.predicted_rating) == (3, 4)
  assert json.loads(json.dumps(p.to_json()))["predicted_rating"] == 4


def test_references_files_with_either_key(tmp_path):
  from recsaver_t5x.eval.references_file import load_ratings
  path = tmp_path / "refs.jsonl"
  path.write_text(json.dumps({"example_id": "a", "true_rating": 2}) + "\n"
                  + json.dumps({"example_id": "b", "rating": 5}) + "\n")
  assert load_ratings(str(path)) == {"a": 2, "b": 5}
