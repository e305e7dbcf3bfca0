"""EXP3RT's three SeqIO task families + mixtures, registered by the one-call-per-domain function."""
import json

import seqio

from recsaver_t5x import tasks as seqio_tasks
from recsaver_t5x.tasks import exp3rt as exp3rt_tasks
from recsaver_t5x.exp3rt import workdir
from recsaver_t5x.exp3rt.prompts import GENERIC
from tests.tasks import fakedata

MAG = "magazine_subscriptions"
LENGTHS = {"inputs": 2048, "targets": 512}


def _rows(path):
  return [json.loads(line) for line in open(path, encoding="utf-8")]


def _register(built, tmp_path):
  prep, out, _, _ = built
  rows = exp3rt_tasks.DomainRows(str(out), MAG)
  texts = [r["inputs"] + r["targets"] for f in exp3rt_tasks.FAMILIES for r in getattr(rows, f)("train")]
  vocab = fakedata.train_spm(str(tmp_path), texts, vocab_size=300)
  names = seqio_tasks.add_domain(MAG, str(prep), None, vocab, wording=GENERIC, exp3rt_dir=str(out))
  return names, rows, out


def test_three_families_and_mixtures(built, tmp_path):
  names, rows, out = _register(built, tmp_path)
  for f in exp3rt_tasks.FAMILIES:
    assert exp3rt_tasks.task_name(MAG, f) in names
  assert exp3rt_tasks.task_name(MAG, "predict", eval_=True) in names
  mix = seqio.get_mixture_or_task(exp3rt_tasks.domain_mixture_name(MAG))
  assert sorted(t.name for t in mix.tasks) == sorted(exp3rt_tasks.task_name(MAG, f)
                                                     for f in exp3rt_tasks.FAMILIES)
  assert exp3rt_tasks.MIXTURE in seqio_tasks.add_mixtures([MAG])
  # Row counts from the directory's own files.
  profs = [p for p in _rows(out / workdir.PROFILES) if p["split"] == "train"]
  rats = {r["example_id"]: r for r in _rows(out / workdir.RATIONALES)}
  n_verified = sum(rats[p["example_id"]]["status"] == "verified" for p in profs)
  ids = {rid for p in profs for rid in p["user_review_ids"] + p["item_review_ids"]}
  assert len(rows.extract("train")) == len(ids)
  assert len(rows.profile("train")) == sum((p["user_prompt"] is not None) + (p["item_prompt"] is not None)
                                           for p in profs)
  assert len(rows.predict("train")) == n_verified > 0
  assert len(rows.predict("test")) == 10  # every test example is evaluated
  # Verified targets: cleaned rationale + TRUE rating; never the leaking sentence.
  for r in rows.predict("train"):
    assert r["targets"].endswith(f"### Rating ###\n{r['true_rating']}") and "rating of" not in r["targets"]
  want = {"extract": len(rows.extract("train")), "profile": len(rows.profile("train")),
          "predict": n_verified}
  for f, n in want.items():  # tokenized datasets of the real seqio tasks
    ds = seqio.get_mixture_or_task(exp3rt_tasks.task_name(MAG, f)).get_dataset(
        LENGTHS, split="train", shuffle=False, num_epochs=1)
    assert sum(1 for _ in ds.as_numpy_iterator()) == n


def test_filter_option(built):
  _, out, _, _ = built
  raw = exp3rt_tasks.DomainRows(str(out), MAG, "raw").predict("train")
  verified = exp3rt_tasks.DomainRows(str(out), MAG).predict("train")
  assert len(raw) == 20 > len(verified)
  assert all("rating of" in r["targets"] for r in raw)  # EXP3RT's unfiltered targets leak


def test_no_training_profile_uses_a_test_target(built):
  prep, out, _, _ = built
  test_targets = {(p["user_id"], p["asin"], p["timestamp"]) for p in _rows(out / workdir.PROFILES)
                  if p["split"] == "test"}
  prefs = {p["review_id"]: p for p in _rows(out / workdir.PREFERENCES)}
  for p in _rows(out / workdir.PROFILES):
    if p["split"] == "train":
      for rid in p["item_review_ids"]:
        r = prefs[rid]
        assert (r["user_id"], r["asin"], r["timestamp"]) not in test_targets
