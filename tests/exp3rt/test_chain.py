"""Chained inference with a student trained by `recsaver train` on the EXP3RT mixture (real data,
real SeqIO tasks, real gin trainer, real decoding). Slow: it trains a tiny model."""
import json

import numpy as np
import pytest

from recsaver_t5x import cli
from recsaver_t5x.exp3rt import readout, workdir
from recsaver_t5x.model.vocab import train_sentencepiece
from recsaver_t5x.scale import RatingScale
from recsaver_t5x.tasks import exp3rt as T

MAG = "magazine_subscriptions"


@pytest.fixture(scope="module")
def trained(built, tmp_path_factory):
  prep, out, _, _ = built
  root = tmp_path_factory.mktemp("student")
  rows = T.DomainRows(str(out), MAG)
  texts = [r["inputs"] + " " + r["targets"] for f in T.FAMILIES for s in ("train", "test")
           for r in getattr(rows, f)(s)]
  spm = train_sentencepiece(texts, str(root / "spm"), 400, num_threads=1)
  tasks = root / "tasks.json"
  tasks.write_text(json.dumps({"vocabulary": spm, "domains": [
      {"name": MAG, "prepared_dir": str(prep), "wording": "beauty", "exp3rt": str(out)}]}))
  model = root / "model"
  assert cli.main(["train", "--gin_file=tiny_cpu.gin", f"--gin.MODEL_DIR='{model}'",
                   f"--gin.TASKS_CONFIG='{tasks}'",
                   f"--gin.MIXTURE_OR_TASK_NAME='{T.domain_mixture_name(MAG)}'",
                   "--gin.TRAIN_STEPS=8", "--gin.CHECKPOINT_PERIOD=8",
                   "--gin.TASK_FEATURE_LENGTHS={'inputs': 256, 'targets': 64}"]) == 0
  return prep, out, model, spm, root


def _run(trained, *extra):
  prep, out, model, spm, root = trained
  eval_dir = root / ("eval" + "_".join(extra))
  assert cli.main(["exp3rt-evaluate", str(prep), "--out", str(out), "--model-dir", str(model),
                   "--vocabulary", spm, "--input-length", "256", "--max-decode-length", "24",
                   "--output-dir", str(eval_dir), *extra]) == 0
  preds = [json.loads(line) for line in open(eval_dir / "predictions.jsonl", encoding="utf-8")]
  return preds, json.loads((eval_dir / "metrics.json").read_text())


@pytest.mark.slow
def test_chain_with_own_and_teacher_profiles(trained):
  _, out, _, _, _ = trained
  profs = {p["example_id"]: p for p in map(json.loads, open(out / workdir.PROFILES))
           if p["split"] == "test"}
  sels = [json.loads(l) for l in open(out / workdir.SELECTION)]
  n_reviews = len({r for s in sels if s["split"] == "test" for r in s["user_ids"] + s["item_ids"]})
  scale = RatingScale()
  for extra in ((), ("--teacher-profiles",)):
    preds, saved = _run(trained, *extra)
    assert sorted(p["example_id"] for p in preds) == sorted(profs)  # every example predicted
    for p in preds:
      probs = np.asarray(p["probs"])
      assert probs.shape == (5,) and abs(probs.sum() - 1) < 1e-4
      assert p["argmax"] == int(np.argmax(probs)) + 1
      assert abs(p["expected"] - float(probs @ np.arange(1, 6))) < 1e-6
      if extra:
        assert p["user_profile"] == profs[p["example_id"]]["user_profile"]
    want = readout.readout_metrics([p["true_rating"] for p in preds], [p["parsed"] for p in preds],
                                   [p["probs"] for p in preds], scale)
    assert saved["metrics"] == json.loads(json.dumps(want))
    assert all(m["n"] == len(preds) for m in saved["metrics"].values())
    if not extra:  # own extractions of every selected review, then two profiles, then the rating
      assert saved["decoded_sequences"] >= n_reviews + len(preds)
    else:
      assert saved["decoded_sequences"] == len(preds)


@pytest.mark.slow
def test_exp3rt_student_reranks_from_training_reviews_only(trained, tmp_path):
  from recsaver_t5x.data import readers
  from recsaver_t5x.exp3rt import corpus as corpus_lib
  from recsaver_t5x.rerank import interactions, split as split_lib
  from recsaver_t5x.rerank.exp3rt_reranker import Exp3rtReranker
  from recsaver_t5x.rerank.rerankers import Query
  prep, out, model, spm, _ = trained
  reviews, meta, _ = corpus_lib.manifest_sources(str(prep))
  # Leakage: profiles read training interactions only (the held-out one of each user never).
  data = interactions.read_interactions(reviews, progress=False)
  split = split_lib.leave_last_out(data)
  d, rows = data, np.flatnonzero(split.train_mask)
  keys = set(zip(d.user_ids[d.user[rows]].tolist(), d.item_ids[d.item[rows]].tolist(),
                 d.ts[rows].tolist()))
  rr = Exp3rtReranker(str(model), spm, str(out), reviews, meta, keys, input_length=256,
                      max_decode_length=24)
  users = [str(d.user_ids[u]) for u in split.test_users[:5]]
  held = {(str(d.user_ids[d.user[r]]), str(d.item_ids[d.item[r]]), int(d.ts[r]))
          for r in split.heldout_rows[:5]}
  items = [rr.corpus.item(a) for a in list(rr.corpus.by_item)[:4]]
  sels = rr.selections([Query(u, (), tuple(items)) for u in users])
  used = {rr.corpus.review(r) for s in sels for r in s.user_ids + s.item_ids}
  assert used and not {(r.user_id, r.asin, r.timestamp) for r in used} & held
  assert all(len(s.user_ids) <= 4 and len(s.item_ids) <= 3 for s in sels)  # the EXP3RT dir's caps
  assert all(rr.corpus.review(r).user_id != s.user_id for s in sels for r in s.item_ids)
  # End to end through `recsaver rerank`: one model call per (user, candidate).
  res_dir = tmp_path / "rerank"
  assert cli.main(["rerank", "--prepared", str(prep), "--out", str(res_dir), "-N", "4",
                   "--iterations", "5", "--max-users", "3", "--reranker", f"exp3rt:e={model}",
                   "--vocabulary", spm, "--exp3rt-dir", str(out), "--input-length", "256",
                   "--max-decode-length", "24", "--no-progress"]) == 0
  res = json.loads((res_dir / "rerank.json").read_text())
  (m,) = [m for m in res["methods"] if m["name"] == "EXP3RT e"]
  assert res["eval_users"] == 3 and 3 * 4 <= m["calls"] <= 3 * 5
