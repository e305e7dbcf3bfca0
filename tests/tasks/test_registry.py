"""Registering domains: real seqio tasks over real JSONL files, a real sample store and spm."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import seqio

from recsaver_t5x import tasks as seqio_tasks
from recsaver_t5x.eval.rating_metrics import rating_metrics
from recsaver_t5x.prompting import variants
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.tasks import metrics, naming
from tests.tasks import fakedata

LENGTHS = {"inputs": 1024, "targets": 128}


@pytest.fixture(scope="module")
def domain(tmp_path_factory):
  d = tmp_path_factory.mktemp("beauty")
  train = fakedata.make_examples(10, "beauty", seed=1, prefix="tr")
  test = fakedata.make_examples(5, "beauty", seed=2, prefix="te")
  fakedata.write_prepared(str(d / "prepared"), train, test)
  answers = {}
  for ex in train + test:
    answers[(ex.example_id, 0)] = fakedata.answer(f"likes {ex.example_id} things", ex.true_rating)
    off = ex.true_rating + 1 if ex.true_rating < 5 else ex.true_rating - 1
    answers[(ex.example_id, 1)] = fakedata.answer(f"maybe {ex.example_id}", off)
    answers[(ex.example_id, 2)] = fakedata.answer(f"unsure {ex.example_id}", None)
  store = fakedata.write_store(str(d / "samples.jsonl"), answers)
  texts = [variants.build_prompt(ex, "reasoning").text for ex in train] + list(answers.values())
  vocab = fakedata.train_spm(str(d), texts)
  names = seqio_tasks.add_domain("beauty", str(d / "prepared"), store, vocab, ms=(1, 3))
  return {"dir": d, "train": train, "test": test, "answers": answers, "vocab": vocab,
          "names": names, "store": store}


def _rows(task_name, split="train", lengths=LENGTHS):
  task = seqio.get_mixture_or_task(task_name)
  ds = task.get_dataset(lengths, split=split, shuffle=False)
  return list(ds.as_numpy_iterator())


def test_one_call_registers_every_task(domain):
  want = {naming.train_task_name("beauty", "reason", f, m)
          for f in naming.FILTER_NAMES for m in (1, 3)}
  want |= {"recsaver_beauty_rating", "recsaver_beauty_reason_eval", "recsaver_beauty_rating_eval"}
  assert set(domain["names"]) == want
  assert want <= set(seqio.TaskRegistry.names())


@pytest.mark.parametrize("filter_name,m,per_example", [
    ("all", 1, [0]), ("all", 3, [0, 1, 2]), ("exact", 3, [0]), ("oneoff", 3, [0, 1]),
    ("exact", 1, [0]), ("binary", 3, None)])
def test_train_rows_follow_filters(domain, filter_name, m, per_example):
  rows = _rows(naming.train_task_name("beauty", "reason", filter_name, m))
  vocab = seqio.SentencePieceVocabulary(domain["vocab"])
  got = [(r["example_id"].decode(), int(r["sample_index"])) for r in rows]
  if per_example is None:  # binary: sample 1 (rating+1, or 4 for 5) crosses 3|4 only from 3
    per = {ex.example_id: [0] + ([1] if ex.true_rating != 3 else []) for ex in domain["train"]}
  else:
    per = {ex.example_id: per_example for ex in domain["train"]}
  assert got == [(ex.example_id, i) for ex in domain["train"] for i in per[ex.example_id]]
  by_id = {ex.example_id: ex for ex in domain["train"]}
  for r in rows:
    ex = by_id[r["example_id"].decode()]
    idx = int(r["sample_index"])
    reason = {0: f"likes {ex.example_id} things", 1: f"maybe {ex.example_id}",
              2: f"unsure {ex.example_id}"}[idx]
    want_target = f"### Reason ###\n{reason}\n### Rating ###\n{ex.true_rating}"
    assert r["targets_pretokenized"].decode() == want_target  # the TRUE rating, never the teacher's
    assert r["inputs_pretokenized"].decode() == variants.build_prompt(ex, "reasoning").text
    assert int(r["true_rating"]) == ex.true_rating
    assert r["targets"][-1] == 1 and r["inputs"][-1] == 1  # EOS
    # Tokens are the vocabulary's encoding of the texts (no trimming at these lengths).
    assert vocab.decode(r["targets"].tolist()) == vocab.decode(vocab.encode(want_target))


def test_rating_only_and_eval_tasks(domain):
  rows = _rows("recsaver_beauty_rating")
  assert [r["targets_pretokenized"].decode() for r in rows] == [
      f"### Rating ###\n{ex.true_rating}" for ex in domain["train"]]
  assert rows[0]["inputs_pretokenized"].decode() == variants.build_prompt(
      domain["train"][0], "no_reasoning").text
  ev = _rows("recsaver_beauty_reason_eval", split="validation")
  assert [r["example_id"].decode() for r in ev] == [ex.example_id for ex in domain["test"]]
  assert ev[0]["targets_pretokenized"].decode().startswith("### Reason ###\nlikes te0")
  assert seqio.get_mixture_or_task("recsaver_beauty_reason_eval").predict_with_aux_metric_fns


def test_long_targets_keep_the_rating(domain):
  rows = _rows(naming.train_task_name("beauty", "reason", "all", 1),
               lengths={"inputs": 16, "targets": 9})
  vocab = seqio.SentencePieceVocabulary(domain["vocab"])
  for r, ex in zip(rows, domain["train"]):
    assert len(r["targets"]) <= 9 and len(r["inputs"]) <= 16
    assert vocab.decode(r["targets"].tolist()).rstrip().endswith(f"### Rating ### {ex.true_rating}")
    # inputs keep their END (task description), not the preamble
    tail = vocab.encode(r["inputs_pretokenized"].decode())[-15:]
    assert r["inputs"].tolist() == tail + [1]


def test_metric_fns_equal_rating_metrics(domain):
  rng = np.random.default_rng(0)
  y = [1, 2, 3, 4, 5, 5, 4, 1]
  texts = ["### Reason ###\nx\n### Rating ###\n4", "### Rating ###\n2", "garbage", "5",
           "### Rating ###\n**3**", "### Rating ###\n5/5", "### Rating ###\n4", "### Rating ###\n1"]
  preds = [metrics.postprocess(t) for t in texts]
  tgts = [metrics.postprocess(None, {"true_rating": np.int32(r), "example_id": b"e"}, True) for r in y]
  got = metrics.rating_text_metrics(tgts, preds, {})
  want = rating_metrics(y, [4, 2, None, 5, 3, 5, 4, 1])
  for k in ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse", "n_unparsed"):
    assert got[k] == pytest.approx(want[k]), k
  probs = rng.dirichlet(np.ones(5), size=len(y))
  auc = metrics.rating_prob_metrics(tgts, preds, {"rating_probs": probs})
  from sklearn.metrics import roc_auc_score  # independent reference
  assert auc["binary_auc"] == pytest.approx(roc_auc_score(np.array(y) > 3, probs[:, 3:].sum(1)))
  assert auc["multi_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr"))


def test_new_domain_is_one_call(domain, tmp_path):
  garden = fakedata.make_examples(6, "garden", seed=5, prefix="g")
  prepared = fakedata.write_prepared(str(tmp_path / "garden"), garden[:4], garden[4:])
  wording = DomainWording("garden tool", "Garden Tool", "purchase")
  names = seqio_tasks.add_domain("garden", prepared, None, domain["vocab"], wording=wording)
  assert names == ["recsaver_garden_rating", "recsaver_garden_reason_eval",
                   "recsaver_garden_rating_eval"]  # no samples: no reasoning train tasks
  rows = _rows("recsaver_garden_rating")
  assert "new garden tool" in rows[0]["inputs_pretokenized"].decode()
  mixes = seqio_tasks.add_mixtures(["beauty", "garden"], ms=(1,))
  assert "recsaver_mix_rating" in mixes and "recsaver_mix_rating_eval" in mixes
  assert "recsaver_mix_reason_all_m1" not in mixes  # garden has no teacher samples
  mix = seqio.get_mixture_or_task("recsaver_mix_rating")
  assert mix.get_rate(seqio.get_mixture_or_task("recsaver_garden_rating")) == 4
  assert mix.get_rate(seqio.get_mixture_or_task("recsaver_beauty_rating")) == 10


def test_from_config_module(domain, tmp_path):
  cfg = {"vocabulary": domain["vocab"], "ms": [2], "filters": ["exact"],
         "domains": [{"name": "shop", "prepared_dir": str(domain["dir"] / "prepared"),
                      "samples_store": domain["store"], "wording": "beauty"}]}
  path = tmp_path / "tasks.json"
  path.write_text(json.dumps(cfg))
  code = ("import seqio, seqio_tasks.from_config as f; print(sorted(f.REGISTERED)); "
          "t = seqio.get_mixture_or_task('recsaver_mix_reason_exact_m2'); "
          "print(len(list(t.get_dataset({'inputs': 512, 'targets': 64}, split='train', "
          "shuffle=False, num_epochs=1))))")
  env = dict(os.environ, RECSAVER_TASKS_CONFIG=str(path), PYTHONPATH=os.getcwd())
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True).stdout.splitlines()
  assert "recsaver_shop_reason_exact_m2" in out[0] and "recsaver_mix_rating" in out[0]
  assert out[1] == "10"


def test_reasoning_metric_fn_uses_the_recsaver_scorer():
  from recsaver_t5x.eval.reasoning_metrics import ReasoningScorer, ScorerConfig
  scorer = ReasoningScorer(ScorerConfig(metrics=("bleu", "rouge1_f1")))
  refs = {"a": ["the user likes gentle creams"], "b": [], "c": ["bold colours please her"]}
  fn = metrics.reasoning_metric_fn(refs, scorer)
  texts = ["### Reason ###\nthe user likes gentle creams\n### Rating ###\n4", "### Rating ###\n2",
           "### Reason ###\nshe wants bold colours\n### Rating ###\n5"]
  out = fn([{"example_id": e, "true_rating": 4} for e in "abc"], [metrics.postprocess(t) for t in texts])
  from recsaver_t5x.eval.reasoning_metrics import Candidate
  want = scorer.score([Candidate("a", "the user likes gentle creams"),
                       Candidate("c", "she wants bold colours")], refs).summary()["all"]
  assert out["n_no_reference"] == 1
  assert out["bleu"] == pytest.approx(want["bleu"]) and out["rouge1_f1"] == pytest.approx(
      want["rouge1_f1"])
  assert out["n"] == 2


def test_eval_metric_fns_share_one_predict_with_aux_pass(domain):
  """Both metric fns take aux_values: seqio (t5x.eval) decodes once, with aux, not twice."""
  task = seqio.get_mixture_or_task(naming.eval_task_name("beauty", "reason"))
  assert task.predict_metric_fns == []
  assert task.predict_with_aux_metric_fns == [metrics.rating_text_metrics,
                                              metrics.rating_prob_metrics]


def test_example_id_travels_as_pretokenized_feature(domain):
  """t5x.infer writes every *_pretokenized feature: its rows carry the example id."""
  rows = _rows(naming.eval_task_name("beauty", "reason"), split="test")
  assert [r["example_id_pretokenized"].decode() for r in rows] == [
      ex.example_id for ex in domain["test"]]
