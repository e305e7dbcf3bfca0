"""Top-N reranking cost and the retriever's memory at scale, each against a peer in the same run.

1. Scale: `recsaver synth` data (default 100k users, 10k items), in a child process: read, split
   leave-last-out, fit the retriever, top-N for every test user; prints the seconds of each phase
   and the child's peak RSS (the whole retriever + candidate generation must stay within 24 GiB).
2. Cost: a real tiny student (trained here on real digital_music ratings) scores, for the same
   users, (a) the retriever's top-N (rerank) and (b) every item the user has not seen (full
   ranking); prints wall time and model calls per user and the ratio (EXP3RT: 7.31 s vs 422 s).

    python benchmarks/rerank_bench.py [--users 100k] [--items 10k] [--cost-users 3]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scale_child(reviews: str, n: int, kind: str, iterations: int) -> None:
  """Runs in the child: prints one JSON line of phase seconds and peak RSS."""
  from recsaver_t5x.rerank import interactions, retriever, split as split_lib
  t = {}
  t0 = time.perf_counter()
  data = interactions.read_interactions([reviews], keep_text=False, progress=False)
  t["read_s"] = time.perf_counter() - t0
  t0 = time.perf_counter()
  s = split_lib.leave_last_out(data, "user")
  t["split_s"] = time.perf_counter() - t0
  r = retriever.make_retriever(retriever.RetrieverConfig(kind=kind, iterations=iterations))
  t0 = time.perf_counter()
  r.fit(s.train)
  t["fit_s"] = time.perf_counter() - t0
  t0 = time.perf_counter()
  items, _ = retriever.top_n(r, s.train, s.test_users, n)
  t["top_n_s"] = time.perf_counter() - t0
  from recsaver_t5x.rerank.candidates import hit_rate
  print(json.dumps({**t, "users": data.n_users, "items": data.n_items, "interactions": len(data),
                    "test_users": len(s.test_users), "hit_rate": hit_rate(items, s.heldout_items),
                    "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def cost(cost_users: int, n: int) -> dict:
  import numpy as np
  from recsaver_t5x.rerank import retriever
  from recsaver_t5x.rerank.evaluate import build_queries
  from recsaver_t5x.rerank.rerankers import score_all
  from recsaver_t5x.rerank.student import StudentReranker
  from tests.rerank import student_fixture
  amazon = REPO.parent / "shared" / "data" / "amazon"
  work = tempfile.mkdtemp(prefix="rerank_bench_")
  split, items = student_fixture.load(amazon)
  model_dir, spm = student_fixture.train_student(work, split, items)
  r = retriever.make_retriever(retriever.RetrieverConfig(kind="bpr", iterations=50))
  r.fit(split.train)
  pos = np.arange(200, 200 + cost_users)
  users = split.test_users[pos]
  top, _ = retriever.top_n(r, split.train, users, n)
  n_items = split.train.shape[1]
  all_unseen = [np.setdiff1d(np.arange(n_items), split.train[u].indices) for u in users]
  out = {}
  for arm, lists in (("rerank top-N", list(top)), ("score every item", all_unseen)):
    queries = []
    for p, lst in zip(pos, lists):
      queries += build_queries(split, np.array([p]), np.asarray(lst)[None, :], np.array([-1]), items, 10)
    def student(tag):
      return StudentReranker(model_dir, spm, os.path.join(work, f"{arm}_{tag}".replace(" ", "_")),
                             "digital_music", targets="rating", input_length=512, max_decode_length=8,
                             batch_size=32, budget=student_fixture.BUDGET, progress=False)
    # compile outside the clock, in another work dir (its predictions must not serve the timed run)
    student("warmup").score(queries[:1])
    st = student("timed")
    calls0 = st.calls
    t0 = time.perf_counter()
    score_all(st, queries, batch_queries=cost_users)
    out[arm] = {"s_per_user": (time.perf_counter() - t0) / cost_users,
                "calls_per_user": (st.calls - calls0) / cost_users}
  return out


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--users", default="100k")
  ap.add_argument("--items", default="10k")
  ap.add_argument("-N", type=int, default=20)
  ap.add_argument("--retriever", default="bpr")
  ap.add_argument("--iterations", type=int, default=20)
  ap.add_argument("--cost-users", type=int, default=3)
  ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
  args = ap.parse_args()
  if args.child:
    scale_child(args.child[0], int(args.child[1]), args.child[2], int(args.child[3]))
    return
  env = dict(os.environ, PYTHONPATH=str(REPO))
  with tempfile.TemporaryDirectory(prefix="rerank_synth_") as d:
    subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "synth", "--out", d, "--users",
                    args.users, "--items", args.items, "--no-progress"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    reviews = os.path.join(d, "Synthetic_Goods_5.json.gz")
    got = subprocess.run([sys.executable, __file__, "--child", reviews, str(args.N), args.retriever,
                          str(args.iterations)], check=True, env=env, capture_output=True, text=True)
    scale = json.loads(got.stdout.strip().splitlines()[-1])
  print(f"scale (SYNTHETIC data): {scale['users']:,} users, {scale['items']:,} items, "
        f"{scale['interactions']:,} interactions, {scale['test_users']:,} test users")
  print(f"  read {scale['read_s']:.1f} s | split {scale['split_s']:.2f} s | fit {args.retriever} "
        f"({args.iterations} it) {scale['fit_s']:.1f} s | top-{args.N} for all test users "
        f"{scale['top_n_s']:.1f} s | hit rate@{args.N} {scale['hit_rate']:.4f}")
  print(f"  peak RSS of retriever + candidate generation: {scale['peak_rss_gib']:.2f} GiB (limit 24 GiB)")
  c = cost(args.cost_users, args.N)
  a, b = c["rerank top-N"], c["score every item"]
  print(f"cost (real digital_music, tiny rating student, {args.cost_users} users):")
  for arm, v in c.items():
    print(f"  {arm:17s} {v['s_per_user']:8.2f} s/user  {v['calls_per_user']:7.1f} model calls/user")
  print(f"  ratio score-every-item / rerank-top-N: {b['s_per_user'] / a['s_per_user']:.1f}x time, "
        f"{b['calls_per_user'] / a['calls_per_user']:.1f}x calls")


if __name__ == "__main__":
  main()
