"""preferences -> profiles -> exp3rt-rationales through the real CLI, a loopback HTTP teacher and
the sample store, on real magazine_subscriptions data: resumable, idempotent, leakage-safe."""
import json

from recsaver_t5x.exp3rt import workdir

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
