"""The prepare step on the shared real Amazon data."""
import json

import numpy as np
import pytest

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data import prepare, sampling
from recsaver_t5x.errors import UserFacingError


def _dm(amazon_dir):
  d = amazon_dir / "digital_music"
  return (str(d / "reviews_Digital_Music_5.head6908.json.gz"),), (str(d / "meta_Digital_Music.head7419.json.gz"),)


@pytest.fixture(scope="module")
def music(amazon_dir, tmp_path_factory):
  reviews, meta = _dm(amazon_dir)
  out = tmp_path_factory.mktemp("dm")
  cfg = prepare.PrepareConfig("digital_music", reviews, meta, train_per_label=12, test_per_label=4, mode="cap")
  prepare.prepare(cfg, str(out))
  return data_io.read_manifest(str(out)), out


def test_eligible_counts_match_the_data_readme(music, amazon_dir):
  manifest, _ = music
  # shared/data/amazon/digital_music/README.md: 11 / 24 / 90 / 268 / 795
  assert manifest["eligible_per_label"] == {"1": 11, "2": 24, "3": 90, "4": 268, "5": 795}
  assert manifest["reviews_read"] == 6908 and manifest["duplicates_dropped"] == 0


def test_all_beauty_dedup_and_missing_metadata(amazon_dir, tmp_path):
  cfg = prepare.PrepareConfig("all_beauty", (str(amazon_dir / "all_beauty" / "All_Beauty_5.json.gz"),),
                              train_per_label=2, test_per_label=1, mode="cap")
  m = prepare.prepare(cfg, str(tmp_path))
  # shared/data/amazon/README.md: 1,053 exact duplicates; eligible 3 / 7 / 9 / 46 / 219 after dedup.
  assert m["duplicates_dropped"] == 1053 and m["reviews_kept"] == 4216
  assert m["eligible_per_label"] == {"1": 3, "2": 7, "3": 9, "4": 46, "5": 219}
  assert m["items_without_metadata"] == m["items_referenced"] > 0
  ex = data_io.read_split(str(tmp_path), "test")[0]
  assert ex.target.title is None and ex.target.missing_fields() == ("title", "brand", "categories", "description", "price")


def test_examples_are_balanced_user_disjoint_chronological(music):
  manifest, out = music
  train, test = data_io.read_split(str(out), "train"), data_io.read_split(str(out), "test")
  assert not {e.user_id for e in train} & {e.user_id for e in test}
  assert manifest["counts"]["test"]["per_label"] == {"1": 3, "2": 4, "3": 4, "4": 4, "5": 4}
  got = manifest["counts"]["train"]["per_label"]
  assert {k: got[k] for k in "2345"} == {"2": 12, "3": 12, "4": 12, "5": 12}
  assert got["1"] <= 11 - 3  # test users' rating-1 examples cannot also train
  assert manifest["shortfalls"] == {"train": {"1": 12 - got["1"]}, "test": {"1": 1}}
  for e in train + test:
    assert 4 <= len(e.history) <= 10
    ts = [h.timestamp for h in e.history]
    assert ts == sorted(ts) and ts[-1] <= e.timestamp
    assert e.target.title  # every target item of this file has metadata
  assert len({e.example_id for e in train + test}) == len(train + test)


def test_manifest_records_sources_and_config(music, amazon_dir):
  manifest, out = music
  on_disk = json.loads((out / "manifest.json").read_text())
  assert on_disk == manifest
  shas = {s["role"]: s["sha256"] for s in manifest["sources"]}
  assert shas["reviews"] == "3b5959aeb96d78e3a4995c0679aa6638deaecd6c762d051473342b254bd913ec"
  assert shas["meta"] == "a48299558017ed3577a0755456656895b0c1e50a4b7722d3fcae0079641b0541"
  assert manifest["config"]["seed"] == 0 and manifest["config"]["mode"] == "cap"


def test_deterministic_for_a_seed(music, amazon_dir, tmp_path):
  _, out = music
  reviews, meta = _dm(amazon_dir)
  cfg = prepare.PrepareConfig("digital_music", reviews, meta, train_per_label=12, test_per_label=4, mode="cap")
  prepare.prepare(cfg, str(tmp_path / "again"))
  for split in ("train", "test"):
    assert (tmp_path / "again" / f"{split}.jsonl").read_bytes() == (out / f"{split}.jsonl").read_bytes()
  prepare.prepare(cfg.__class__(**{**cfg.__dict__, "seed": 1}), str(tmp_path / "other"))
  assert (tmp_path / "other" / "test.jsonl").read_bytes() != (out / "test.jsonl").read_bytes()


def test_strict_mode_names_the_short_label(amazon_dir, tmp_path):
  reviews, meta = _dm(amazon_dir)
  cfg = prepare.PrepareConfig("digital_music", reviews, meta, train_per_label=20, test_per_label=5)
  with pytest.raises(UserFacingError, match=r"rating 1 \(11 eligible\): train \d+/20 \(short \d+\)"):
    prepare.prepare(cfg, str(tmp_path))


def test_movies_samples_have_almost_no_histories(amazon_dir, tmp_path):
  files = tuple(sorted(str(p) for p in (amazon_dir / "movies_and_tv").glob("*.json.gz")))
  m = prepare.prepare(prepare.PrepareConfig("movies_tv", files, train_per_label=5, test_per_label=2, mode="cap"),
                      str(tmp_path))
  assert m["reviews_read"] == 683
  assert sum(m["eligible_per_label"].values()) <= 2


def test_balanced_split_properties():
  rng = np.random.default_rng(0)
  users = rng.integers(0, 300, 3000)
  labels = rng.integers(1, 6, 3000)
  sel = sampling.balanced_split(users, labels, 40, 10, seed=3)
  assert sel.counts(labels) == {"train": {r: 40 for r in range(1, 6)}, "test": {r: 10 for r in range(1, 6)}}
  assert not set(users[sel.train]) & set(users[sel.test])
  again = sampling.balanced_split(users, labels, 40, 10, seed=3)
  assert (again.train == sel.train).all() and (again.test == sel.test).all()
  one = sampling.balanced_split(users, labels, 40, 10, seed=3, max_per_user=1)
  assert len(set(users[one.test])) == len(one.test)
