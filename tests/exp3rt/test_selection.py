"""Corpus, leakage rule, caps and criteria of EXP3RT's profile selection, on real data."""
import gzip
import json

import numpy as np
import orjson
import pytest

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.prepare import PrepareConfig, prepare
from recsaver_t5x.errors import InputError
from recsaver_t5x.exp3rt import corpus as corpus_lib, selection
from recsaver_t5x.scale import RatingScale

MAG = "magazine_subscriptions"


@pytest.fixture(scope="module")
def magazine(amazon_dir, tmp_path_factory):
  d = amazon_dir / MAG
  out = tmp_path_factory.mktemp("prep")
  prepare(PrepareConfig(domain=MAG, reviews=(str(d / "Magazine_Subscriptions_5.json.gz"),),
                        meta=(str(d / "meta_Magazine_Subscriptions.json.gz"),),
                        train_per_label=20, test_per_label=10), str(out))
  corpus, scale = corpus_lib.load_for(str(out))
  examples = data_io.read_split(str(out), "train") + data_io.read_split(str(out), "test")
  return corpus, scale, examples, d


def _raw(path):
  with gzip.open(path, "rb") as f:
    return [orjson.loads(line) for line in f]


def test_corpus_matches_an_independent_count(magazine):
  corpus, scale, _, d = magazine
  raw = _raw(d / "Magazine_Subscriptions_5.json.gz")
  keys = {(r["reviewerID"], r["asin"], r["unixReviewTime"], r.get("reviewText")) for r in raw}
  assert sum(len(v) for v in corpus.by_user.values()) == len(keys) == 2331  # README: 44 dropped
  assert corpus.duplicates_dropped == 44 and scale == RatingScale()
  votes = sum(int(r["vote"].replace(",", "")) for r in raw if "vote" in r)
  kept_votes = sum(r.helpful for rs in corpus.by_user.values() for r in rs)
  assert 0 < kept_votes <= votes  # duplicates carry their votes away, never add any


def test_leakage_rule_on_real_data(magazine):
  corpus, _, examples, _ = magazine
  cfg_h = selection.SelectionConfig(user_cap=15, item_cap=12, criterion="helpful")
  cfg_s = selection.SelectionConfig(user_cap=15, item_cap=12, criterion="similar", item_pool=40)
  n_item = n_empty = 0
  for cfg in (cfg_h, cfg_s):
    for sel, ex in zip(selection.select(corpus, examples, cfg), examples):
      users = [corpus.review(r) for r in sel.user_ids]
      items = [corpus.review(r) for r in sel.item_ids]
      # Prepared histories may hold same-day reviews (day-resolution times, ties kept): those
      # never enter a profile, so an example can have none at all.
      strictly = [h for h in ex.history if h.timestamp < ex.timestamp]
      assert len(users) == min(len(strictly), 15), ex.example_id
      n_empty += not users
      for r in users:  # this user's reviews, strictly earlier in time
        assert r.user_id == ex.user_id and r.timestamp < ex.timestamp
      for r in items:  # other users' reviews of this item, strictly earlier in time
        assert r.asin == ex.target.asin and r.user_id != ex.user_id and r.timestamp < ex.timestamp
      target = [r for r in corpus.by_user[ex.user_id]
                if r.asin == ex.target.asin and r.timestamp == ex.timestamp]
      assert target and all(t.review_id not in sel.user_ids + sel.item_ids for t in target)
      n_item += len(items)
  assert n_item > 0 and 0 < n_empty < len(examples)


def test_caps_and_helpful_criterion(magazine):
  corpus, _, examples, _ = magazine
  cfg = selection.SelectionConfig(user_cap=3, item_cap=2, criterion="helpful")
  for sel, ex in zip(selection.select(corpus, examples, cfg), examples):
    assert len(sel.user_ids) <= 3 and len(sel.item_ids) <= 2
    before_user = corpus.user_before(ex.user_id, ex.timestamp)
    assert [r.review_id for r in before_user[-3:]] == list(sel.user_ids)  # the most recent
    cands = corpus.item_before(ex.target.asin, ex.timestamp, ex.user_id)
    top = sorted((r.helpful for r in cands), reverse=True)[:2]
    assert sorted((corpus.review(r).helpful for r in sel.item_ids), reverse=True) == top


def test_similar_criterion_picks_the_highest_cosine():
  vecs = np.eye(4, dtype=np.float32)
  profile = np.asarray([0.1, 0.9, 0.0, 0.5], np.float32)
  assert selection.most_similar(profile, ["a", "b", "c", "d"], vecs, 2) == ("b", "d")


def test_helpful_votes_of_each_layout():
  assert corpus_lib.helpful_votes({"helpful": [3, 5]}, "f", 1) == 3
  assert corpus_lib.helpful_votes({"vote": "1,234"}, "f", 1) == 1234
  assert corpus_lib.helpful_votes({"helpful_vote": 7}, "f", 1) == 7
  assert corpus_lib.helpful_votes({}, "f", 1) == 0
  with pytest.raises(InputError, match="f:9: field 'vote'"):
    corpus_lib.helpful_votes({"vote": "many"}, "f", 9)


def test_rating_outside_the_scale_is_a_one_line_error(tmp_path):
  p = tmp_path / "r.json"
  rec = {"reviewerID": "u", "asin": "a", "overall": 7.0, "unixReviewTime": 5}
  p.write_text(json.dumps(rec) + "\n")
  with pytest.raises(InputError, match=r"r.json:1: field 'overall'.*1\.\.5"):
    corpus_lib.load_corpus([str(p)])
  c = corpus_lib.load_corpus([str(p)], scale=RatingScale(1, 10, 6))
  assert c.by_user["u"][0].rating == 7


def test_amazon_2023_files_read_with_prepares_rules(amazon_dir):
  # The corpus reads records with `recsaver prepare`'s reader: 2023 layout (user_id, parent_asin,
  # millisecond timestamps) and <br /> cleaned from review text.
  path = amazon_dir.parent / "amazon2023" / "Magazine_Subscriptions.jsonl.gz"
  raw = _raw(path)
  c = corpus_lib.load_corpus([str(path)])
  reviews = [r for rs in c.by_user.values() for r in rs]
  assert len(c.by_user) == len({r["user_id"] for r in raw}) == 30
  assert {r.asin for r in reviews} <= {r["parent_asin"] for r in raw}
  assert all(r.timestamp < 10**11 for r in reviews)  # seconds, as prepared examples
  assert not any("<br" in (r.text or "") for r in reviews)
  assert any("<br" in r["text"] for r in raw)
