"""Item sampling, persistence and the file `recsaver alignment` reads (no browser)."""
import json
import os

import pytest

from recsaver_t5x import cli
from recsaver_t5x.annotate import items as items_lib
from recsaver_t5x.annotate.study import Study
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.recsaver import alignment


def _pool(run_dir):
  preds, ex_files = items_lib.find_inputs([run_dir])
  return items_lib.candidates(preds, items_lib.load_examples(ex_files))


def test_sampling_is_balanced_and_uses_each_example_once(run_dir):
  pool = _pool(run_dir)
  assert len(pool) == 24 and {p.model for p in pool} == {"small_reason", "base_reason"}
  chosen = items_lib.sample_items(pool, 8, seed=1)
  strata = {}
  for it in chosen:
    strata[(it.model, it.correct)] = strata.get((it.model, it.correct), 0) + 1
  assert sorted(strata.values()) == [2, 2, 2, 2]
  assert len({it.example_id for it in chosen}) == 8
  assert all("### Rating" not in it.reasoning for it in chosen)  # the rating is removed
  assert items_lib.sample_items(pool, 8, seed=1) == chosen  # deterministic
  with pytest.raises(UserFacingError, match="only 12 distinct"):
    items_lib.sample_items(pool, 13)


def test_orders_differ_per_rater_and_ratings_are_hidden(run_dir, tmp_path):
  chosen = items_lib.sample_items(_pool(run_dir), 10)
  study = Study.create_or_open(str(tmp_path / "s"), chosen, ["ann", "bob"], seed=0)
  assert sorted(study.order("ann")) == sorted(study.order("bob"))
  assert study.order("ann") != study.order("bob")
  shown = json.dumps(study.public_item("ann", study.next_item("ann")))
  it = study.items[study.next_item("ann")]
  assert "predicted_rating" not in shown and "true_rating" not in shown and it.model not in shown
  assert '"rating": ' in shown  # only the history's own ratings (part of the prompt)
  assert json.loads(shown)["target"].get("rating") is None


def test_answers_persist_resume_and_feed_alignment(run_dir, tmp_path, capsys):
  d = str(tmp_path / "s")
  chosen = items_lib.sample_items(_pool(run_dir), 6)
  study = Study.create_or_open(d, chosen, ["ann", "bob"], seed=0)
  for r, shift in (("ann", 0), ("bob", 1)):
    for n, item_id in enumerate(study.order(r)):
      study.submit(r, item_id, {"coherence": 1 + (n + shift) % 5, "faithfulness": n % 2,
                                "insightfulness": 1 + n % 5,
                                "error_types": ["arithmetic errors"] if n == 0 else []})
  first = study.order("ann")[0]
  study.submit("ann", first, {"coherence": 5, "faithfulness": 1, "insightfulness": 5})  # revise
  with pytest.raises(ValueError, match="coherence"):
    study.submit("ann", first, {"coherence": 7, "faithfulness": 1, "insightfulness": 5})
  with pytest.raises(ValueError, match="error_types"):
    study.submit("ann", first, {"coherence": 3, "faithfulness": 1, "insightfulness": 5,
                                "error_types": ["typo"]})
  again = Study.create_or_open(d, None, ["ann", "bob"], seed=0)  # resume from disk
  assert again.complete() and again.answers == study.answers
  anns = alignment.read_annotations(again.annotations_path)
  assert len(anns) == 12
  assert next(a for a in anns if a.annotator == "ann" and a.key == (
      study.items[first].example_id, 0)).coherence == 5
  assert {a.correct for a in anns} == {True, False}
  assert again.agreement().rows[0][0] == "coherence"
  assert cli.main(["alignment", again.annotations_path]) == 0
  assert "Table 13" in capsys.readouterr().out
  with pytest.raises(UserFacingError, match="raters"):
    Study.create_or_open(d, None, ["ann"], seed=0)


def test_bad_inputs_name_file_and_line(run_dir, tmp_path):
  p = os.path.join(run_dir, "eval", "small_reason", "predictions_recsaver_beauty_reason_eval.jsonl")
  with open(p, "a") as f:
    f.write(json.dumps({"example_id": "nope", "text": "x"}) + "\n")
  with pytest.raises(InputError, match=r"predictions_.*:13: field 'example_id'"):
    _pool(run_dir)
  assert cli.main(["annotate", str(tmp_path / "missing"), "--no-serve"]) == 2
