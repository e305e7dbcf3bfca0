"""Amazon 2023 files, HTML in text, metadata of the wrong type, implausible timestamps, fast path."""
import gzip
import json
import time

import pytest

from recsaver_t5x import cli
from recsaver_t5x.data import html_text, io as data_io, prepare, readers
from recsaver_t5x.errors import InputError

A2023 = {  # category -> eligible 1/2/3/4/5, from shared/data/amazon2023/README.md
    "Movies_and_TV": (3, 1, 1, 6, 19), "Software": (16, 6, 8, 17, 59),
    "Gift_Cards": (1, 0, 0, 2, 99), "Kindle_Store": (3, 6, 13, 21, 62)}


def _gz(path, records):
  path.write_bytes(gzip.compress("".join(
      (r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()))
  return str(path)


def _user_reviews(user, n, t0=1_400_000_000, **extra):
  return [{"reviewerID": user, "asin": f"I{i}", "overall": float(1 + i % 5), "unixReviewTime": t0 + i,
           "reviewText": f"review {i}", **extra} for i in range(n)]


@pytest.mark.parametrize("category", sorted(A2023))
def test_amazon2023_real_files_eligible_counts(amazon_dir, tmp_path, category):
  d = amazon_dir.parent / "amazon2023"
  cfg = prepare.PrepareConfig(category.lower(), (str(d / f"{category}.jsonl.gz"),),
                              (str(d / f"meta_{category}.jsonl.gz"),), train_per_label=3,
                              test_per_label=1, mode="cap")
  m = prepare.prepare(cfg, str(tmp_path))
  assert tuple(m["eligible_per_label"].values()) == A2023[category]
  assert m["per_source"][0]["format"] == "2023" and m["per_source"][0]["reader"] == "arrow"
  assert m["metadata_repeats"]["files"][0]["format"] == "2023"
  examples = data_io.read_split(str(tmp_path), "train") + data_io.read_split(str(tmp_path), "test")
  assert m["items_without_metadata"] < m["items_referenced"]  # joined on parent_asin
  assert sum(e.target.title is not None for e in examples) > 0
  for e in examples:  # milliseconds became seconds, and the order is chronological
    assert 1e9 < e.timestamp < time.time()
    assert [h.timestamp for h in e.history] == sorted(h.timestamp for h in e.history)
    assert all("<br" not in (h.review or "") for h in e.history)


def test_2023_text_br_becomes_line_break(amazon_dir):
  path = str(amazon_dir.parent / "amazon2023" / "Movies_and_TV.jsonl.gz")
  raw = [json.loads(l) for l in gzip.open(path)]
  with_br = [r for r in raw if "<br" in r["text"]]
  assert with_br
  fields = readers.FieldStats()
  got = {(r.user_id, r.ts_ms): r.review for r in readers.iter_reviews(path, readers.SkipCounter(), fields)}
  for r in with_br:
    text = got[(r["user_id"], r["timestamp"])]
    assert "<br" not in text and "\n" in text
  assert fields.cleaned["review"] >= len(with_br)


def test_magazine_titles_that_are_only_markup_are_missing(amazon_dir, tmp_path):
  d = amazon_dir / "magazine_subscriptions"
  cfg = prepare.PrepareConfig("mag", (str(d / "Magazine_Subscriptions_5.json.gz"),),
                              (str(d / "meta_Magazine_Subscriptions.json.gz"),),
                              train_per_label=800, test_per_label=100, mode="cap")
  m = prepare.prepare(cfg, str(tmp_path))
  examples = data_io.read_split(str(tmp_path), "train") + data_io.read_split(str(tmp_path), "test")
  referenced = {h.item.asin for e in examples for h in e.history} | {e.target.asin for e in examples}
  first = {}
  for line in gzip.open(d / "meta_Magazine_Subscriptions.json.gz"):
    o = json.loads(line)
    first.setdefault(o["asin"], o)
  span = sum(1 for a in referenced if a in first
             and first[a].get("title", "").startswith('<span class="a-size-medium a-color-secondary"'))
  assert span > 100  # README: 148 of the 151 reviewed items
  assert m["text_cleaning"]["metadata"]["markup_only"]["title"] == span
  assert all(not (e.target.title or "").startswith("<") for e in examples)


@pytest.mark.parametrize("text,plain", [
    ('<span class="a-size-medium a-color-secondary"', None), ("Gold &amp; Silver", "Gold & Silver"),
    ("one<br />two", "one\ntwo"), ("<p>a</p><p>b <b>c</b></p>", "a\nb c"), ("I <3 it, a < b", "I <3 it, a < b"),
    ("AT&T", "AT&T"), ("&quot;Q&quot;", '"Q"'), ("<br/>", None)])
def test_html_to_text(text, plain):
  assert html_text.clean(text)[0] == plain


def test_metadata_of_the_wrong_type_and_conflicts(tmp_path):
  reviews = _gz(tmp_path / "r.json.gz", _user_reviews("U1", 6))
  meta = _gz(tmp_path / "m.json.gz", [
      {"asin": "I0", "title": ["Album 3", "Deluxe"], "price": {"amount": 3}, "brand": 7},
      {"asin": "I1", "title": "T1", "description": {"html": "x"}, "category": "Music"},
      {"asin": "I1", "title": "T1 (other)"},  # conflicts with the first I1 row
      {"asin": "I2", "title": "T2"}, {"asin": "I2", "title": "T2"}])  # an identical repeat
  items = {}
  for i in readers.iter_meta(meta, readers.SkipCounter()):
    items.setdefault(i.asin, i)
  assert items["I0"].title == "Album 3; Deluxe" and items["I0"].price is None
  assert items["I0"].brand == "7" and items["I1"].description is None
  assert items["I1"].categories == ("Music",)
  cfg = prepare.PrepareConfig("d", (reviews,), (meta,), train_per_label=1, test_per_label=0,
                              mode="cap", min_history=4, max_history=10)
  m = prepare.prepare(cfg, str(tmp_path / "out"))
  assert m["text_cleaning"]["metadata"]["rejected"] == {"description": 1, "price": 1}
  assert m["text_cleaning"]["metadata"]["joined"] == {"title": 1}
  rep = m["metadata_repeats"]
  assert rep["repeated_rows_conflicting"] == 1 and rep["repeated_rows_identical"] == 1
  assert rep["conflict_examples"] == ["I1 (title, categories)"]
  ex = data_io.read_split(str(tmp_path / "out"), "train")[0]
  assert {h.item.asin: h.item.title for h in ex.history}["I1"] == "T1"  # first row wins


@pytest.mark.parametrize("ingest", ["auto", "strict"])
def test_implausible_timestamps_counted_reported_droppable(tmp_path, capsys, ingest):
  recs = _user_reviews("U1", 6) + [
      {**_user_reviews("U1", 1)[0], "asin": "F", "unixReviewTime": int(time.time()) + 10 * 365 * 86400},
      {**_user_reviews("U1", 1)[0], "asin": "N", "unixReviewTime": -5}]
  reviews = _gz(tmp_path / "r.json.gz", recs)
  base = ["prepare", "--reviews", reviews, "--mode", "cap", "--train-per-label", "1",
          "--test-per-label", "0", "--ingest", ingest]
  assert cli.main(base + ["--out", str(tmp_path / "keep")]) == 0
  out = capsys.readouterr().out
  assert "2 reviews have an implausible timestamp (negative or in the future): kept" in out
  m = data_io.read_manifest(str(tmp_path / "keep"))
  assert m["implausible_timestamps"] == 2 and m["reviews_read"] == 8
  assert m["per_source"][0]["reader"].startswith("python")  # the fast path left it to the strict one
  assert cli.main(base + ["--out", str(tmp_path / "drop"), "--skip-bad-records"]) == 0
  m = data_io.read_manifest(str(tmp_path / "drop"))
  assert m["reviews_read"] == 6 and m["skipped_records"] == 2
  assert any("implausible timestamp" in s and "in the future" in s for s in m["skipped_detail"])


@pytest.mark.parametrize("case", ["digital_music", "all_beauty", "movies_and_tv_2023"])
def test_fast_and_strict_paths_write_identical_examples(amazon_dir, tmp_path, case):
  # digital_music: 2018 with metadata; all_beauty: 1,053 exact duplicates; 2023: <br /> in text.
  files = {"digital_music": (amazon_dir / "digital_music" / "reviews_Digital_Music_5.head6908.json.gz",
                             amazon_dir / "digital_music" / "meta_Digital_Music.head7419.json.gz"),
           "all_beauty": (amazon_dir / "all_beauty" / "All_Beauty_5.json.gz", None),
           "movies_and_tv_2023": (amazon_dir.parent / "amazon2023" / "Movies_and_TV.jsonl.gz",
                                  amazon_dir.parent / "amazon2023" / "meta_Movies_and_TV.jsonl.gz")}
  reviews, meta = files[case]
  outs = {}
  for ingest in ("auto", "strict"):
    cfg = prepare.PrepareConfig(case, (str(reviews),), (str(meta),) if meta else (),
                                train_per_label=20, test_per_label=5, mode="cap", ingest=ingest)
    m = prepare.prepare(cfg, str(tmp_path / ingest))
    outs[ingest] = ((tmp_path / ingest / "train.jsonl").read_bytes(),
                    (tmp_path / ingest / "test.jsonl").read_bytes(), m["text_cleaning"],
                    m["duplicates_dropped"], m["eligible_per_label"])
    assert m["per_source"][0]["reader"] == ("arrow" if ingest == "auto" else "python (--ingest strict)")
  assert outs["auto"] == outs["strict"]
  if case == "movies_and_tv_2023":
    assert outs["auto"][2]["reviews"]["cleaned"]  # the fast path cleaned <br /> like the strict one


def test_a_bad_file_falls_back_and_keeps_the_strict_message(tmp_path, capsys):
  recs = [json.dumps(r) for r in _user_reviews("U1", 6)]
  recs.insert(3, json.dumps({**_user_reviews("U1", 1)[0], "overall": "five"}))
  reviews = _gz(tmp_path / "r.json.gz", recs)
  assert cli.main(["prepare", "--reviews", reviews, "--out", str(tmp_path / "o")]) == 2
  assert capsys.readouterr().err.strip().endswith(f"{reviews}:4: field 'overall': not a number: 'five'")


@pytest.mark.parametrize("ingest", ["auto", "strict"])
def test_exact_duplicates_only_text_equal_ones_across_files(tmp_path, ingest):
  recs = _user_reviews("U1", 7)
  same_key_other_text = {**recs[2], "reviewText": "a different review"}
  no_text = [{k: v for k, v in recs[5].items() if k != "reviewText"}] * 2  # two textless copies
  first = _gz(tmp_path / "a.json.gz", recs[:5] + [recs[1], same_key_other_text] + no_text)
  second = _gz(tmp_path / "b.json.gz", [recs[3], recs[6]])
  cfg = prepare.PrepareConfig("d", (first, second), train_per_label=1, test_per_label=0, mode="cap",
                              min_history=1, ingest=ingest)
  m = prepare.prepare(cfg, str(tmp_path / "out"))
  # dropped: recs[1] again (file a), one textless copy (file a), recs[3] again (file b)
  assert m["reviews_read"] == 11 and m["duplicates_dropped"] == 3 and m["reviews_kept"] == 8
  assert [s["duplicates_dropped"] for s in m["per_source"]] == [2, 1]
  assert m["per_source"][0]["reader"] == ("arrow" if ingest == "auto" else "python (--ingest strict)")
