"""Top-k reranking on real Amazon data: split, candidates (never a seen item), determinism,
metrics equal to ir-measures' on random runs, both protocols, the CLI and the plug-in hook."""
import dataclasses
import json
import os

import numpy as np
import pytest

from recsaver_t5x import cli
from recsaver_t5x.rerank import candidates as cand_lib
from recsaver_t5x.rerank import interactions, metrics, retriever, split as split_lib
from recsaver_t5x.rerank.rerankers import Query, UserAverage, expected_rating, score_all

DM = "digital_music/reviews_Digital_Music_5.head6908.json.gz"
MAG = "magazine_subscriptions/Magazine_Subscriptions_5.json.gz"
MAG_META = "magazine_subscriptions/meta_Magazine_Subscriptions.json.gz"


@pytest.fixture(scope="module")
def dm(amazon_dir):
  return interactions.read_interactions([str(amazon_dir / DM)], keep_text=False, progress=False)


def _fit(kind, split, seed=0, **kw):
  defaults = {"bpr": 30, "als": 5, "lightgcn": 5}
  cfg = retriever.RetrieverConfig(kind=kind, factors=16, iterations=defaults[kind], seed=seed, **kw)
  r = retriever.make_retriever(cfg)
  r.fit(split.train)
  return r


def test_interactions_dedup_and_order(dm):
  assert len(dm) + dm.duplicates_dropped == 6908
  pairs = dm.user.astype(np.int64) * dm.n_items + dm.item
  assert len(np.unique(pairs)) == len(dm)          # one interaction per (user, item)
  same_user = dm.user[1:] == dm.user[:-1]
  assert np.all(np.diff(dm.user) >= 0) and np.all(dm.ts[1:][same_user] >= dm.ts[:-1][same_user])


def test_leave_last_out_per_user(dm):
  s = split_lib.leave_last_out(dm, "user", min_train=2)
  for u, row in zip(s.test_users, s.heldout_rows):
    rows = np.flatnonzero(dm.user == u)
    assert row == rows[-1] and not s.train_mask[row] and s.train_mask[rows[:-1]].all()
    assert len(rows) >= 3
  assert s.train.nnz == s.train_mask.sum() == len(dm) - len(s.test_users) - 0
  assert s.stats["test_users"] == len(s.test_users) > 500


def test_leave_last_out_by_time_never_trains_on_the_future(dm):
  s = split_lib.leave_last_out(dm, "time", min_train=2, time_quantile=0.8)
  cutoff = s.stats["cutoff_ts"]
  assert dm.ts[s.train_mask].max() < cutoff and (dm.ts[s.heldout_rows] >= cutoff).all()
  for u, row in zip(s.test_users[:50], s.heldout_rows[:50]):
    later = np.flatnonzero((dm.user == u) & (dm.ts >= cutoff))
    assert row == later[0]
  warm = np.asarray(s.train.sum(axis=0)).ravel() > 0
  assert warm[s.heldout_items].all()               # cold held-out items were dropped (and counted)


@pytest.mark.parametrize("kind", ["bpr", "als", "lightgcn"])
def test_no_seen_item_among_candidates(dm, kind):
  s = split_lib.leave_last_out(dm, "user")
  items, scores = retriever.top_n(_fit(kind, s), s.train, s.test_users, 20, chunk=100)
  for u, row, sc in zip(s.test_users, items, scores):
    seen = set(dm.item[(dm.user == u) & s.train_mask])   # independent of the matrix
    assert not seen & set(row.tolist()) and len(set(row.tolist())) == 20
    assert np.all(np.diff(sc) <= 0) and np.isfinite(sc).all()


@pytest.mark.parametrize("kind", ["bpr", "als", "lightgcn"])
def test_retriever_deterministic_for_a_seed(dm, kind):
  s = split_lib.leave_last_out(dm, "user")
  a = retriever.top_n(_fit(kind, s, seed=3), s.train, s.test_users, 10)[0]
  b = retriever.top_n(_fit(kind, s, seed=3), s.train, s.test_users, 10)[0]
  c = retriever.top_n(_fit(kind, s, seed=4), s.train, s.test_users, 10)[0]
  assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_metrics_equal_ir_measures_on_random_runs():
  import ir_measures
  from ir_measures import RR, R, nDCG
  rng = np.random.default_rng(0)
  n_users, n_items, length = 300, 50, 20
  ranked = np.stack([rng.permutation(n_items)[:length] for _ in range(n_users)])
  heldout = rng.integers(0, n_items, n_users)     # about 40% not in their list
  ks = (1, 5, 10, 20)
  ours = metrics.ranking_metrics(ranked, heldout, ks)
  qrels = [ir_measures.Qrel(str(u), str(heldout[u]), 1) for u in range(n_users)]
  run = [ir_measures.ScoredDoc(str(u), str(i), float(length - r))
         for u in range(n_users) for r, i in enumerate(ranked[u])]
  measures = [R @ k for k in ks] + [nDCG @ k for k in ks] + [RR]
  ref = ir_measures.calc_aggregate(measures, qrels, run)
  for k in ks:
    assert ours[f"recall@{k}"] == pytest.approx(ref[R @ k], abs=1e-12)
    assert ours[f"ndcg@{k}"] == pytest.approx(ref[nDCG @ k], abs=1e-12)
  assert ours["mrr"] == pytest.approx(ref[RR], abs=1e-12)
  assert 0.2 < ours["recall@20"] < 0.8
  curve = metrics.ndcg_curve(ranked, heldout)
  assert curve[4] == pytest.approx(ours["ndcg@5"]) and len(curve) == length


def test_protocols_and_tie_break():
  retrieved = np.array([[5, 6, 7], [1, 2, 3]])
  heldout = np.array([6, 9])
  p = cand_lib.protocol_candidates(retrieved, heldout)
  assert p[cand_lib.AS_RETRIEVED].items.tolist() == [[5, 6, 7], [1, 2, 3]]
  assert p[cand_lib.INSERTED].items.tolist() == [[5, 6, 7], [1, 2, 9]]
  assert p[cand_lib.INSERTED].inserted.tolist() == [False, True]
  assert cand_lib.hit_rate(retrieved, heldout) == 0.5
  pred = np.array([[3.0, 4.0, 4.0], [2.0, 2.0, 2.0]])   # ties keep the retriever's order
  assert cand_lib.reranked(retrieved, pred).tolist() == [[6, 7, 5], [1, 2, 3]]
  assert expected_rating(np.array([[0, 0, 0, 0.5, 0.5]])) == pytest.approx([4.5])


def test_user_average_keeps_retriever_order(dm):
  from recsaver_t5x.data.records import HistoryEntry, Item
  h = (HistoryEntry(Item("a"), 4, None, None, 1), HistoryEntry(Item("b"), 3, None, None, 2))
  q = [Query("u", h, (Item("x"), Item("y"))), Query("v", h[:1], (Item("z"),))]
  r = UserAverage()
  out = score_all(r, q, batch_queries=1)
  assert [o.tolist() for o in out] == [[3.5, 3.5], [4.0]] and r.calls == 3


def _run_cli(args, capsys):
  try:
    code = cli.main(["rerank", "--no-progress", *args])
  except SystemExit as e:  # a usage error, found when the command line is parsed (--ks 1,x)
    code = e.code
  return code, capsys.readouterr()


def test_cli_on_real_data_with_metadata_and_plugin(amazon_dir, tmp_path, capsys):
  out = tmp_path / "mag"
  code, io = _run_cli(["--reviews", str(amazon_dir / MAG), "--meta", str(amazon_dir / MAG_META),
                       "--domain", "magazine_subscriptions", "--out", str(out), "-N", "10",
                       "--retriever", "lightgcn", "--iterations", "20", "--reranker", "user-average",
                       "--reranker", "item-average",
                       "--reranker", "python:tests.rerank.plugin:reverse_reranker"], capsys)
  assert code == 0, io.err
  res = json.loads((out / "rerank.json").read_text())
  names = [m["name"] for m in res["methods"]]
  assert names[0].startswith("retriever: LightGCN") and names[1:] == [
      "naive user average", "item average (training ratings)", "reverse retriever order"]
  ret, avg, _, rev = res["methods"]
  for proto in cand_lib.PROTOCOLS:
    assert avg["metrics"][proto] == ret["metrics"][proto]   # one value per user: retriever order
  assert res["ks"] == [1, 5, 10]
  assert ret["metrics"]["as retrieved"]["recall@10"] == pytest.approx(res["hit_rate_at_n"])
  assert ret["metrics"]["held-out inserted"]["recall@10"] == 1.0
  # reversing moves the retriever's rank-(N-1) item to the top: read that share off its NDCG curve
  curve = ret["curves"]["as retrieved"]
  last_share = (curve[9] - curve[8]) * np.log2(11)
  assert rev["metrics"]["as retrieved"]["recall@1"] == pytest.approx(last_share)
  assert rev["metrics"]["as retrieved"]["recall@10"] == ret["metrics"]["as retrieved"]["recall@10"]
  assert rev["calls"] > 0 and (out / "ndcg_at_k.png").stat().st_size > 1000
  md = (out / "rerank.md").read_text()
  assert "## Protocol: as retrieved" in md and "## Protocol: held-out inserted" in md


def test_cli_bad_input_is_one_line(amazon_dir, tmp_path, capsys):
  bad = tmp_path / "bad.json"
  bad.write_text('{"reviewerID": "u", "asin": "a", "overall": 9, "unixReviewTime": 1}\n')
  code, io = _run_cli(["--reviews", str(bad), "--domain", "x", "--out", str(tmp_path / "o")], capsys)
  assert code == 2 and io.err.count("\n") == 1 and "bad.json:1" in io.err and "overall" in io.err
  code, io = _run_cli(["--reviews", str(amazon_dir / DM), "--domain", "x", "--out", str(tmp_path),
                       "--ks", "1,x"], capsys)
  assert code == 2 and "--ks" in io.err
  code, io = _run_cli(["--reviews", str(amazon_dir / DM), "--domain", "x", "--out", str(tmp_path),
                       "-N", "400"], capsys)
  assert code == 2 and "-N 400" in io.err


def test_cli_on_a_prepared_domain_by_time(amazon_dir, tmp_path, capsys):
  prepared = tmp_path / "prepared"
  prepared.mkdir()
  (prepared / "manifest.json").write_text(json.dumps({
      "config": {"domain": "digital_music"},
      "sources": [{"path": str(amazon_dir / DM), "role": "reviews"}]}))
  out = tmp_path / "o"
  code, io = _run_cli(["--prepared", str(prepared), "--out", str(out), "--split-by", "time",
                       "--retriever", "als", "--iterations", "5", "-N", "5"], capsys)
  assert code == 0, io.err
  res = json.loads((out / "rerank.json").read_text())
  assert res["domain"] == "digital_music" and res["split"]["split_by"] == "time"
  assert res["ks"] == [1, 5] and res["methods"][0]["name"].startswith("retriever: ALS")


@pytest.mark.slow
def test_teacher_reranker_with_the_embedded_teacher_resumes_from_its_store(amazon_dir, tmp_path, capsys):
  out = tmp_path / "teacher"
  args = ["--reviews", str(amazon_dir / MAG), "--meta", str(amazon_dir / MAG_META),
          "--domain", "magazine_subscriptions", "--out", str(out), "-N", "3", "--iterations", "5",
          "--max-users", "2", "--reranker", "teacher", "--max-tokens", "8",
          "--max-prompt-chars", "1500", "--max-field-chars", "100"]
  code, io = _run_cli(args, capsys)
  assert code == 0, io.err
  res = json.loads((out / "rerank.json").read_text())
  (m,) = [m for m in res["methods"] if m["name"].startswith("teacher ")]
  assert "(no_reasoning)" in m["name"] and 2 * 3 <= m["calls"] <= 2 * 4  # + inserted held-out items
  store = (out / "teacher_samples.jsonl").read_text().splitlines()
  assert len(store) == m["calls"]
  first = m["metrics"]
  code, io = _run_cli(args, capsys)  # a rerun: every answer is in the store
  assert code == 0, io.err
  assert (out / "teacher_samples.jsonl").read_text().splitlines() == store
  (m,) = [m for m in json.loads((out / "rerank.json").read_text())["methods"]
          if m["name"].startswith("teacher ")]
  assert m["metrics"] == first


def test_candidates_dir_reads_as_an_unlabelled_split(tmp_path):
  """The student reranker's work dir: candidates carry no true rating, histories use the domain's
  scale (1..10 here), and a label in an unlabelled split or an unlabelled record in a prepared
  split is one error naming file, line and field."""
  from recsaver_t5x.data import io as data_io
  from recsaver_t5x.data.records import HistoryEntry, Item
  from recsaver_t5x.errors import InputError
  from recsaver_t5x.rerank.rerankers import query_examples
  from recsaver_t5x.scale import RatingScale
  scale = RatingScale(1, 10, 6)
  hist = tuple(HistoryEntry(Item(asin=f"h{i}"), 8, "good", None, 1000 + i) for i in range(4))
  q = Query(user_id="u", history=hist, candidates=(Item(asin="c1"), Item(asin="c2")))
  examples = query_examples(q, "books")
  assert data_io.write_unlabelled_split(str(tmp_path / "cand"), examples, scale) == 2
  back = data_io.read_split(str(tmp_path / "cand"), "test")
  assert [e.example_id for e in back] == ["u|c1", "u|c2"]
  assert {e.true_rating for e in back} == {data_io.UNLABELLED}
  assert data_io.read_split(str(tmp_path / "cand"), "train") == []
  labelled = [dataclasses.replace(examples[0], true_rating=7)]
  data_io.write_examples(str(tmp_path / "cand" / "test.jsonl"), labelled)
  with pytest.raises(InputError, match=r"test.jsonl:1: field 'true_rating': must be 0 in an unlabelled split, got 7"):
    data_io.read_split(str(tmp_path / "cand"), "test")
  prepared = tmp_path / "prep"
  prepared.mkdir()
  data_io.write_examples(str(prepared / "test.jsonl"), examples)
  with pytest.raises(InputError, match=r"test.jsonl:1: field 'true_rating': must be in 1..5, got 0"):
    data_io.read_split(str(prepared), "test")
