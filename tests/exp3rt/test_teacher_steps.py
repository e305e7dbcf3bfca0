"""preferences -> profiles -> exp3rt-rationales through the real CLI, a loopback HTTP teacher and
the sample store, on real magazine_subscriptions data: resumable, idempotent, leakage-safe."""
import json

import pytest

from recsaver_t5x import cli
from recsaver_t5x.data.prepare import PrepareConfig, prepare
from recsaver_t5x.exp3rt import workdir
from tests.exp3rt.rule_teacher import RuleTeacher

MAG = "magazine_subscriptions"


@pytest.fixture(scope="module")
def built(amazon_dir, tmp_path_factory):
  d = amazon_dir / MAG
  root = tmp_path_factory.mktemp("exp3rt")
  prep = root / "prep"
  prepare(PrepareConfig(domain=MAG, reviews=(str(d / "Magazine_Subscriptions_5.json.gz"),),
                        meta=(str(d / "meta_Magazine_Subscriptions.json.gz"),),
                        train_per_label=4, test_per_label=2), str(prep))
  out, store = root / "x", root / "store.jsonl"
  with RuleTeacher() as teacher:
    t = ["--teacher-base-url", teacher.url, "--teacher-model", "rule", "--no-progress"]
    common = [str(prep), "--out", str(out), "--store", str(store)] + t
    assert cli.main(["preferences"] + common + ["--user-cap", "4", "--item-cap", "3"]) == 0
    assert cli.main(["profiles"] + common) == 0
    assert cli.main(["exp3rt-rationales"] + common) == 0
    n_calls = len(teacher.prompts)
    # Rerun: everything is in the store, no new call.
    assert cli.main(["preferences"] + common + ["--user-cap", "4", "--item-cap", "3"]) == 0
    assert cli.main(["profiles"] + common) == 0
    assert cli.main(["exp3rt-rationales"] + common) == 0
    assert len(teacher.prompts) == n_calls
  return prep, out, store, n_calls


def _rows(path):
  return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_one_call_per_review_and_profile(built):
  _, out, store, n_calls = built
  prefs = _rows(out / workdir.PREFERENCES)
  profs = _rows(out / workdir.PROFILES)
  rats = _rows(out / workdir.RATIONALES)
  n_user = sum(p["user_prompt"] is not None for p in profs)
  n_item = sum(p["item_prompt"] is not None for p in profs)
  n_verify = sum(r["cleaned"] != "" for r in rats)
  assert n_calls == len(prefs) + n_user + n_item + len(rats) + n_verify
  assert len(_rows(store)) == n_calls
  assert all(p["parsed"] for p in prefs) and len(profs) == 30


def test_profiles_respect_leakage_rule_and_caps(built):
  _, out, _, _ = built
  prefs = {p["review_id"]: p for p in _rows(out / workdir.PREFERENCES)}
  for p in _rows(out / workdir.PROFILES):
    assert len(p["user_review_ids"]) <= 4 and len(p["item_review_ids"]) <= 3
    for rid in p["user_review_ids"]:
      assert prefs[rid]["user_id"] == p["user_id"] and prefs[rid]["timestamp"] < p["timestamp"]
    for rid in p["item_review_ids"]:
      r = prefs[rid]
      assert r["asin"] == p["asin"] and r["user_id"] != p["user_id"]
      assert r["timestamp"] < p["timestamp"]
    assert p["user_ratings"] == [prefs[r]["rating"] for r in p["user_review_ids"]]
    assert p["user_profile"].startswith("[Like]\n") and "[Dislike]" in p["user_profile"]


def test_rationales_are_leakage_filtered_and_verified(built):
  _, out, _, _ = built
  rats = _rows(out / workdir.RATIONALES)
  assert len(rats) == 20  # the training split
  for r in rats:
    assert "rating of" in r["reasoning"] and "rating of" not in r["cleaned"]
    expected = "verified" if r["verify_rating"] == r["true_rating"] else "rejected"
    assert r["status"] == expected
  statuses = {r["status"] for r in rats}
  assert statuses == {"verified", "rejected"}
