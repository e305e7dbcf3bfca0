"""Synthetic Amazon-2018 data: exact format (checked against the real All_Beauty file), labels,
determinism, rating skew, learnability, constant-memory streaming and the CLI."""
import collections
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import contextlib

import numpy as np
import orjson
import pytest

from recsaver_t5x import cli
from recsaver_t5x.data import readers, synth, synth_vocab

# Key order of the 2018 meta files (as published with the dataset), plus our label.
META_KEYS_2018 = ["category", "tech1", "description", "fit", "title", "also_buy", "tech2",
                  "brand", "feature", "rank", "also_view", "main_cat", "similar_item", "date",
                  "price", "asin", "imageURL", "imageURLHighRes"]
SMALL = synth.SynthConfig(category="All_Beauty", n_users=1500, n_items=300, seed=7)


def _read(path):
  with gzip.open(path, "rb") as f:
    return [orjson.loads(line) for line in f]


def _sha(path):
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  out = tmp_path_factory.mktemp("synth")
  summary = synth.write_category(SMALL, str(out), progress=False)
  return out, summary, _read(out / SMALL.reviews_file), _read(out / SMALL.meta_file)


def test_review_fields_types_and_order_match_real_2018_file(small, amazon_dir):
  _, _, reviews, _ = small
  real = _read(amazon_dir / "all_beauty" / "All_Beauty_5.json.gz")
  real_types = collections.defaultdict(set)
  for r in real:
    for k, v in r.items():
      real_types[k].add(type(v))
  # The real file's dominant key order, with optional keys removed where a record lacks them.
  order = ["image", "overall", "vote", "verified", "reviewTime", "reviewerID", "asin", "style",
           "reviewerName", "reviewText", "summary", "unixReviewTime"]
  assert collections.Counter(tuple(k for k in r if k in order) for r in real).most_common(1)[0][0] \
      == tuple(k for k in order if k not in ("image", "vote"))
  seen = set()
  for r in reviews:
    keys = list(r)
    assert keys[-1] == "synthetic" and r["synthetic"] is True
    assert keys[:-1] == [k for k in order if k in r], keys
    for k, v in r.items():
      if k != "synthetic":
        assert type(v) in real_types[k], (k, v)
    seen.update(r)
    assert r["overall"] in (1.0, 2.0, 3.0, 4.0, 5.0)
    # "MM D, YYYY" as in the real files ("09 1, 2016"), the same day as unixReviewTime (UTC).
    day = datetime.datetime.fromtimestamp(r["unixReviewTime"], datetime.timezone.utc)
    assert r["unixReviewTime"] % 86400 == 0
    assert r["reviewTime"] == f"{day.month:02d} {day.day}, {day.year}"
    assert len(r["asin"]) == 10 and len(r["reviewerID"]) == 14
    if "vote" in r:
      assert re.fullmatch(r"\d{1,3}(,\d{3})*", r["vote"]) and int(r["vote"].replace(",", "")) >= 2
    if "style" in r:
      (k, v), = r["style"].items()
      assert k == "Size:" and v.startswith(" ")
  assert {"vote", "style", "reviewText", "summary"} <= seen
  assert re.fullmatch(r"\d\d \d{1,2}, \d{4}", real[0]["reviewTime"])


def test_meta_fields_and_types(small):
  _, _, reviews, meta = small
  assert len(meta) == SMALL.n_items
  for m in meta:
    assert list(m) == META_KEYS_2018 + ["synthetic"] and m["synthetic"] is True
    for k in ("category", "description", "also_buy", "feature", "also_view", "imageURL",
              "imageURLHighRes"):
      assert isinstance(m[k], list) and all(isinstance(x, str) for x in m[k]), k
    for k in ("tech1", "fit", "title", "tech2", "brand", "rank", "main_cat", "similar_item",
              "date", "price", "asin"):
      assert isinstance(m[k], str), k
    assert m["price"] == "" or re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", m["price"])
    assert re.fullmatch(r"\d{1,3}(,\d{3})* in Beauty & Personal Care \(", m["rank"])
    assert m["title"].startswith("[SYNTHETIC] ") and m["main_cat"] == "All Beauty"
  assert {r["asin"] for r in reviews} <= {m["asin"] for m in meta}
  # Missing values look like the 2018 files: empty strings / lists, not absent keys.
  assert any(m["price"] == "" for m in meta) and any(m["description"] == [] for m in meta)


def test_project_readers_accept_the_files(small):
  out, summary, reviews, meta = small
  skips = readers.SkipCounter()
  parsed = list(readers.iter_reviews(str(out / SMALL.reviews_file), skips))
  items = list(readers.iter_meta(str(out / SMALL.meta_file), skips))
  assert skips.total == 0 and len(parsed) == summary.n_lines == len(reviews)
  assert len(items) == SMALL.n_items and all(i.title and i.categories for i in items)


def test_everything_is_labelled_synthetic(small):
  out, summary, reviews, meta = small
  assert all(r["reviewerName"].startswith("synthetic-user-") for r in reviews)
  assert all(r["reviewerID"].startswith("SYNU") and r["asin"].startswith("SYN") for r in reviews)
  assert all(m["asin"].startswith("SYN") for m in meta)
  readme = (out / "README.txt").read_text()
  assert readme.startswith("SYNTHETIC DATA - NOT REAL") and f"seed {SMALL.seed}" in readme
  manifest = json.loads((out / synth.MANIFEST).read_text())
  assert manifest["synthetic"] is True and manifest["config"] == SMALL.to_dict()
  for name, info in manifest["files"].items():
    assert _sha(out / name) == info["sha256"] and os.path.getsize(out / name) == info["bytes"]
  assert manifest["n_reviews"] == len(reviews) == sum(manifest["rating_counts"].values())


def test_deterministic_for_a_seed(tmp_path, small):
  out, _, _, _ = small
  again = tmp_path / "again"
  synth.write_category(SMALL, str(again), progress=False)
  for name in (SMALL.reviews_file, SMALL.meta_file):
    assert _sha(again / name) == _sha(out / name)
  other = tmp_path / "other"
  cfg = synth.SynthConfig(**{**SMALL.to_dict(), "seed": 8, "rating_skew": SMALL.rating_skew})
  synth.write_category(cfg, str(other), progress=False)
  assert _sha(other / SMALL.reviews_file) != _sha(out / SMALL.reviews_file)


def test_users_chronology_and_distinct_items(small):
  _, _, reviews, _ = small
  by_user = collections.defaultdict(list)
  for r in reviews:
    by_user[r["reviewerID"]].append(r)
  assert len(by_user) == SMALL.n_users
  counts = np.array([len(v) for v in by_user.values()])
  assert counts.min() >= SMALL.min_reviews and counts.max() <= SMALL.max_reviews
  assert np.mean((counts >= 5) & (counts <= 11)) > 0.9  # 5-core-like: most users have 5..11
  assert len(set(counts.tolist())) > 5  # but counts vary
  for rs in by_user.values():
    times = [r["unixReviewTime"] for r in rs]
    assert len(set(times)) == len(times)  # a strict time order per user
    assert len({r["asin"] for r in rs}) == len(rs)
  # Lines are not grouped by user (files are not sorted that way in the wild either).
  firsts = [r["reviewerID"] for r in reviews[:50]]
  assert len(set(firsts)) > 20


def test_rating_skew_near_target(tmp_path):
  cfg = synth.SynthConfig(category="Synthetic_Goods", n_users=4000, n_items=1000, seed=3)
  summary = synth.write_category(cfg, str(tmp_path), progress=False)
  shares = np.array([summary.rating_counts[str(r)] for r in range(1, 6)]) / summary.n_reviews
  np.testing.assert_allclose(shares, synth.DEFAULT_SKEW, atol=0.015)
  flat = (0.2,) * 5
  cfg = synth.SynthConfig(category="Synthetic_Goods", n_users=4000, n_items=1000, seed=3,
                          rating_skew=flat)
  summary = synth.write_category(cfg, str(tmp_path / "flat"), progress=False)
  shares = np.array([summary.rating_counts[str(r)] for r in range(1, 6)]) / summary.n_reviews
  np.testing.assert_allclose(shares, flat, atol=0.02)


def _chronological_split(reviews):
  by_user = collections.defaultdict(list)
  for r in reviews:
    by_user[r["reviewerID"]].append(r)
  train, test = [], []
  for rs in by_user.values():
    rs.sort(key=lambda r: r["unixReviewTime"])
    train += [(r["reviewerID"], r["asin"], r["overall"]) for r in rs[:-1]]
    test.append((rs[-1]["reviewerID"], rs[-1]["asin"], rs[-1]["overall"]))
  return train, test


def test_ratings_learnable_from_history_and_items(tmp_path):
  cfg = synth.SynthConfig(category="All_Beauty", n_users=3000, n_items=400, seed=11)
  synth.write_category(cfg, str(tmp_path), progress=False)
  reviews = _read(tmp_path / cfg.reviews_file)
  train, test = _chronological_split(reviews)
  mu = np.mean([y for _, _, y in train])
  user, item = collections.defaultdict(list), collections.defaultdict(list)
  for u, i, y in train:
    user[u].append(y - mu)
    item[i].append(y - mu)
  shrunk = lambda xs, k: sum(xs) / (len(xs) + k)  # noqa: E731 (shrink small counts to 0)
  y_true = np.array([y for _, _, y in test])
  pred = np.array([mu + shrunk(user[u], 2) + shrunk(item[i], 5) for u, i, _ in test])
  rmse = lambda p: float(np.sqrt(np.mean((np.clip(p, 1, 5) - y_true) ** 2)))  # noqa: E731
  assert rmse(pred) < 0.88 * rmse(np.full(len(y_true), mu)), (rmse(pred), rmse(np.full(len(y_true), mu)))

  # Beyond the averages: the user's taste, read from the praise/complaint sentences of their
  # history, matched with the item's attribute poles, read from its metadata, lowers the error.
  from sklearn.linear_model import LinearRegression
  from sklearn.model_selection import cross_val_predict
  theme = synth_vocab.theme_for(cfg.category)
  sentence = {}  # sentence -> (axis, +1 if the user likes the positive pole else -1)
  for k, poles in enumerate(theme.axes):
    for sign, word in zip((-1, 1), poles):
      for tone, bank in ((1, synth_vocab.PRAISE), (-1, synth_vocab.COMPLAINT)):
        for t in bank:
          sentence[t.format(w=word)] = (k, sign * tone)
  pole = {w: (k, sign) for k, poles in enumerate(theme.axes) for sign, w in zip((-1, 1), poles)}
  item_vec = {}
  for m in _read(tmp_path / cfg.meta_file):
    v = np.zeros(len(theme.axes))
    for f in m["feature"]:
      k, sign = pole[f.split()[0].lower()]
      v[k] = sign
    item_vec[m["asin"]] = v
  taste = collections.defaultdict(lambda: np.zeros(len(theme.axes)))
  last = {u: i for u, i, _ in test}
  for r in reviews:
    if last[r["reviewerID"]] != r["asin"]:
      for sent in re.split(r"(?<=[.!]) ", r.get("reviewText", "")):
        if sent in sentence:
          k, like = sentence[sent]
          taste[r["reviewerID"]][k] += like
  base = pred[:, None]
  match = np.array([[np.tanh(taste[u]) @ item_vec[i]] for u, i, _ in test])
  errors = [rmse(cross_val_predict(LinearRegression(), x, y_true, cv=5))
            for x in (base, np.hstack([base, match]))]
  assert errors[1] < 0.95 * errors[0], errors


def test_metadata_and_text_carry_the_signal(small):
  _, _, reviews, meta = small
  quality = {m["asin"]: re.search(r"This (budget|everyday|premium) ", m["description"][0]).group(1)
             for m in meta if m["description"]}
  by_quality = collections.defaultdict(list)
  for r in reviews:
    if r["asin"] in quality:
      by_quality[quality[r["asin"]]].append(r["overall"])
  means = {q: np.mean(v) for q, v in by_quality.items()}
  assert means["budget"] < means["everyday"] < means["premium"], means
  # Review sentiment follows the stars: openers are drawn from the bank of that rating.
  for r in reviews:
    if "reviewText" in r:
      assert any(r["reviewText"].startswith(o) for o in synth_vocab.OPENERS[int(r["overall"]) - 1])


def test_duplicates_like_2018_variants(tmp_path):
  cfg = synth.SynthConfig(n_users=500, n_items=200, seed=1, duplicate_rate=0.2)
  summary = synth.write_category(cfg, str(tmp_path), progress=False)
  with gzip.open(tmp_path / cfg.reviews_file, "rb") as f:
    lines = f.read().splitlines()
  assert len(lines) == summary.n_lines > summary.n_reviews
  assert len(set(lines)) == summary.n_reviews
  assert 0.15 < summary.n_lines / summary.n_reviews - 1 < 0.25


_RSS_PROBE = """
import resource, sys
from recsaver_t5x.data import synth
cfg = synth.SynthConfig(n_users=int(sys.argv[2]), n_items=2000, seed=0)
synth.write_category(cfg, sys.argv[1], progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kib(out, n_users):
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
  res = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(out), str(n_users)], env=env,
                       capture_output=True, text=True, check=True)
  return int(res.stdout.split()[-1])


def test_streaming_memory_does_not_grow_with_size(tmp_path):
  # ~87k reviews (3 blocks: the writer pipeline is already full) against ~200k reviews (7 blocks,
  # ~72 MB of JSON): holding the extra 115k records would add well over 40 MB.
  small_rss = _peak_rss_kib(tmp_path / "a", 12_000)
  big_rss = _peak_rss_kib(tmp_path / "b", 28_000)
  manifest = json.loads((tmp_path / "b" / synth.MANIFEST).read_text())
  assert manifest["n_reviews"] > 200_000
  assert big_rss - small_rss < 15 * 1024, (small_rss, big_rss)


def test_cli(tmp_path):
  out = tmp_path / "cli"
  argv = ["synth", "--out", str(out), "--category", "Digital_Music", "--users", "1k", "--items",
          "150", "--reviews-per-user", "5-11", "--seed", "5", "--no-progress"]
  buf = io.StringIO()
  with contextlib.redirect_stdout(buf):
    assert cli.main(argv) == 0
  assert "synthetic reviews" in buf.getvalue()
  reviews = _read(out / "Digital_Music_5.json.gz")
  meta = _read(out / "meta_Digital_Music.json.gz")
  counts = collections.Counter(r["reviewerID"] for r in reviews)
  assert len(counts) == 1000 and set(counts.values()) <= set(range(5, 12)) and len(meta) == 150
  assert reviews[0]["style"].keys() <= {"Format:"}
  first = _sha(out / "Digital_Music_5.json.gz")
  buf = io.StringIO()
  with contextlib.redirect_stdout(buf):
    assert cli.main(argv) == 0  # idempotent: same parameters -> kept, not regenerated
  assert "up to date" in buf.getvalue() and _sha(out / "Digital_Music_5.json.gz") == first


def test_cli_errors_are_one_line(tmp_path, capsys):
  out = str(tmp_path / "e")
  assert cli.main(["synth", "--out", out, "--users", "100", "--items", "10", "--no-progress"]) == 2
  err = capsys.readouterr().err
  assert "--items must be in" in err and "Traceback" not in err and len(err.splitlines()) == 1
  assert cli.main(["synth", "--out", out, "--users", "100", "--items", "100", "--no-progress"]) == 0
  capsys.readouterr()
  assert cli.main(["synth", "--out", out, "--users", "100", "--items", "100", "--seed", "1",
                   "--no-progress"]) == 2
  assert "--force" in capsys.readouterr().err
  assert cli.main(["synth", "--out", out, "--users", "100", "--items", "100", "--seed", "1",
                   "--no-progress", "--force"]) == 0
  assert cli.main(["synth", "--out", out, "--category", "bad/name", "--no-progress"]) == 2
  assert "category" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    cli.main(["synth", "--out", out, "--users", "lots"])
