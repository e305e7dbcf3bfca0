"""Rating scale 1..10 end to end on `recsaver synth` data: synth -> prepare (manifest) ->
preferences/profiles/rationales (prompts, parser, verification) -> SeqIO targets -> a trained
student's 10-way rating-token distribution -> read-outs -> the EXP3RT table."""
import json

import numpy as np
import pytest

from recsaver_t5x import cli
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.exp3rt.student import scale_tokens
from recsaver_t5x.model.vocab import REASON_MARKER, RATING_MARKER, get_vocabulary, train_sentencepiece
from recsaver_t5x.scale import RatingScale
from recsaver_t5x.tasks import exp3rt as T
from tests.exp3rt.rule_teacher import RuleTeacher

SKEW10 = "0.05,0.04,0.05,0.06,0.08,0.1,0.14,0.16,0.16,0.16"
S10 = RatingScale(1, 10, 6)


@pytest.fixture(scope="module")
def synth10(tmp_path_factory):
  root = tmp_path_factory.mktemp("s10")
  raw, prep, out = root / "raw", root / "prep", root / "x"
  assert cli.main(["synth", "--out", str(raw), "--category", "Imdb_Like", "--users", "300",
                   "--items", "40", "--reviews-per-user", "6-12", "--rating-skew", SKEW10,
                   "--no-progress"]) == 0
  assert cli.main(["prepare", "--reviews", str(raw / "Imdb_Like_5.json.gz"),
                   "--meta", str(raw / "meta_Imdb_Like.json.gz"), "--domain", "imdb_like",
                   "--out", str(prep), "--train-per-label", "2", "--test-per-label", "1",
                   "--mode", "cap", "--scale", "1..10:6"]) == 0
  with RuleTeacher() as t:
    c = [str(prep), "--out", str(out), "--store", str(root / "store.jsonl"),
         "--teacher-base-url", t.url, "--teacher-model", "rule", "--no-progress"]
    assert cli.main(["preferences"] + c + ["--user-cap", "3", "--item-cap", "3"]) == 0
    assert cli.main(["profiles"] + c) == 0
    assert cli.main(["exp3rt-rationales"] + c) == 0
  return root, prep, out


def test_scale_travels_through_prepare_prompts_and_targets(synth10):
  root, prep, out = synth10
  manifest = json.loads((prep / "manifest.json").read_text())
  assert manifest["rating_scale"] == S10.to_dict()
  assert set(manifest["eligible_per_label"]) == {str(r) for r in range(1, 11)}
  test = [json.loads(l) for l in open(prep / "test.jsonl")]
  assert {e["true_rating"] for e in test} == set(range(1, 11))  # every value of the scale
  rows = T.DomainRows(str(out), "imdb_like")
  assert rows.scale == S10
  for r in rows.predict("test"):
    assert "(1 to 10)" in r["inputs"] and "(of 1..10)" in r["inputs"]
  assert any(r["true_rating"] == 10 for r in rows.predict("test"))
  rats = [json.loads(l) for l in open(out / "rationales.jsonl")]
  assert all(r["verify_rating"] in S10 for r in rats)  # parsed on 1..10
  assert any(r["verify_rating"] > 5 for r in rats)


def test_rating_tokens_need_one_piece_per_value(synth10, tmp_path):
  texts = ["### Rating ### 7 and 10 and 1"] * 50
  digits5 = train_sentencepiece(texts, str(tmp_path / "v5"), 80, num_threads=1)
  with pytest.raises(UserFacingError, match="'10' is not a single piece"):
    scale_tokens(get_vocabulary(digits5), S10)
  symbols = (REASON_MARKER, RATING_MARKER) + tuple(str(v) for v in S10.values)
  digits10 = train_sentencepiece(texts, str(tmp_path / "v10"), 80, user_defined_symbols=symbols,
                                 num_threads=1)
  assert len(scale_tokens(get_vocabulary(digits10), S10).digit_ids) == 10


@pytest.mark.slow
def test_student_reads_out_ten_values(synth10):
  root, prep, out = synth10
  rows = T.DomainRows(str(out), "imdb_like")
  texts = [r["inputs"] + " " + r["targets"] for f in T.FAMILIES for s in ("train", "test")
           for r in getattr(rows, f)(s)]
  symbols = (REASON_MARKER, RATING_MARKER) + tuple(str(v) for v in S10.values)
  spm = train_sentencepiece(texts, str(root / "spm"), 300, user_defined_symbols=symbols,
                            num_threads=1)
  tasks = root / "tasks.json"
  tasks.write_text(json.dumps({"vocabulary": spm, "domains": [
      {"name": "imdb_like", "prepared_dir": str(prep), "wording": "beauty", "exp3rt": str(out)}]}))
  model = root / "model"
  assert cli.main(["train", "--gin_file=tiny_cpu.gin", f"--gin.MODEL_DIR='{model}'",
                   f"--gin.TASKS_CONFIG='{tasks}'",
                   f"--gin.MIXTURE_OR_TASK_NAME='{T.domain_mixture_name('imdb_like')}'",
                   "--gin.TRAIN_STEPS=4", "--gin.CHECKPOINT_PERIOD=4",
                   "--gin.TASK_FEATURE_LENGTHS={'inputs': 256, 'targets': 64}"]) == 0
  ev = root / "eval"
  assert cli.main(["exp3rt-evaluate", str(prep), "--out", str(out), "--model-dir", str(model),
                   "--vocabulary", spm, "--input-length", "256", "--max-decode-length", "16",
                   "--output-dir", str(ev), "--teacher-profiles"]) == 0
  preds = [json.loads(l) for l in open(ev / "predictions.jsonl")]
  for p in preds:
    assert len(p["probs"]) == 10 and p["argmax"] in S10 and 1 <= p["expected"] <= 10
    assert abs(p["expected"] - float(np.asarray(p["probs"]) @ np.arange(1, 11))) < 1e-5
  md = root / "t.md"
  assert cli.main(["exp3rt-report", str(prep), "--out", str(md), "--exp3rt", str(ev)]) == 0
  assert "ratings 1..10" in md.read_text()
