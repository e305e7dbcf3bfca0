"""Benchmark `recsaver prepare` against a straightforward pandas implementation of the same job.

For each case (the shared real All_Beauty and Digital_Music files, and a synthetic category of at
least 5 million reviews generated once with `recsaver synth` and cached), both implementations run
in their own subprocess, one after the other, on the same input and with the same settings. We
report reviews read per second (work time, after library imports) and the peak RSS of the
subprocess (ru_maxrss from os.wait4, i.e. getrusage of exactly that child), plus the ratios, and
check that both found the same eligible examples per rating.

  .venv/bin/python benchmarks/prepare_bench.py                  # all cases
  .venv/bin/python benchmarks/prepare_bench.py --cases all_beauty,digital_music
  .venv/bin/python benchmarks/prepare_bench.py --synthetic-reviews 10M --cache-dir /tmp/bench

Not part of the test suite. The synthetic data are labelled synthetic in every record.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

REPO = pathlib.Path(__file__).resolve().parents[1]
AMAZON = pathlib.Path(os.environ.get("RECSAVER_SHARED", REPO.parent / "shared")) / "data" / "amazon"
RATINGS = (1, 2, 3, 4, 5)


@dataclasses.dataclass(frozen=True)
class Case:
  name: str
  reviews: str
  meta: tuple[str, ...]


# ---------------------------------------------------------------- the straightforward pandas way

def pandas_prepare(reviews: str, meta: tuple[str, ...], out: str, n_train: int, n_test: int,
                   lo: int, hi: int, seed: int) -> dict:
  """The same job written the obvious pandas way: load, dedup, sort, cumcount, sample, join."""
  import ast  # pylint: disable=import-outside-toplevel
  import gzip  # pylint: disable=import-outside-toplevel

  import pandas as pd  # pylint: disable=import-outside-toplevel

  cols = ["reviewerID", "asin", "overall", "unixReviewTime", "reviewText", "summary"]
  # dtype=False keeps ASINs such as "0005019281" as strings; chunks only to drop unused columns.
  chunks = pd.read_json(reviews, lines=True, dtype=False, convert_dates=False, chunksize=200_000)
  df = pd.concat([c.reindex(columns=cols) for c in chunks], ignore_index=True)
  n_read = len(df)
  df["overall"] = df["overall"].astype(int)
  df = df.drop_duplicates(subset=["reviewerID", "asin", "unixReviewTime", "reviewText"])
  n_kept = len(df)
  df = df.sort_values(["reviewerID", "unixReviewTime"], kind="stable")
  df["pos"] = df.groupby("reviewerID").cumcount()
  cand = df[(df["pos"] >= lo) & (df["pos"] <= hi)]
  eligible = {str(r): int((cand["overall"] == r).sum()) for r in RATINGS}

  test = pd.concat([g.sample(n=min(n_test, len(g)), random_state=seed)
                    for _, g in cand.groupby("overall")])
  rest = cand[~cand["reviewerID"].isin(set(test["reviewerID"]))]
  train = pd.concat([g.sample(n=min(n_train, len(g)), random_state=seed)
                     for _, g in rest.groupby("overall")])

  items: dict = {}
  for path in meta:
    with gzip.open(path, "rt", encoding="utf-8") as f:
      first = f.readline()
    if first.lstrip().startswith("{'"):  # 2014 metadata: Python literals
      with gzip.open(path, "rt", encoding="utf-8") as f:
        m = pd.DataFrame([ast.literal_eval(line) for line in f])
    else:
      m = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    items.update(m.drop_duplicates("asin").set_index("asin").to_dict("index"))

  def item(asin):
    m = items.get(asin, {})
    get = lambda k: m.get(k) if isinstance(m.get(k), (str, list)) else None  # noqa: E731
    return {"asin": asin, "title": get("title"), "brand": get("brand"),
            "categories": get("category") or get("categories"), "description": get("description"),
            "price": get("price")}

  os.makedirs(out, exist_ok=True)
  for split, sel in (("train", train), ("test", test)):
    targets = sel[["reviewerID", "pos"]].rename(columns={"pos": "target_pos"})
    hist = df.merge(targets, on="reviewerID")
    hist = hist[hist["pos"] <= hist["target_pos"]].sort_values(["reviewerID", "target_pos", "pos"])
    with open(os.path.join(out, f"{split}.jsonl"), "w", encoding="utf-8") as f:
      for (user, _), g in hist.groupby(["reviewerID", "target_pos"], sort=True):
        rows = g.to_dict("records")
        *h, t = rows
        f.write(json.dumps({
            "user_id": user, "true_rating": int(t["overall"]), "target": item(t["asin"]),
            "history": [{"item": item(r["asin"]), "rating": int(r["overall"]),
                         "review": r["reviewText"] if isinstance(r["reviewText"], str) else None,
                         "timestamp": int(r["unixReviewTime"])} for r in h]}) + "\n")
  return {"reviews_read": n_read, "reviews_kept": n_kept, "eligible_per_label": eligible,
          "examples": len(train) + len(test)}


# ---------------------------------------------------------------- workers (one per subprocess)

def _worker(spec: dict) -> dict:
  """Runs one implementation; returns its own timings. Peak RSS is taken by the parent."""
  t0 = time.perf_counter()
  if spec["impl"] in ("recsaver", "recsaver-strict"):
    import contextlib  # pylint: disable=import-outside-toplevel

    import duckdb  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import

    from recsaver_t5x import cli  # pylint: disable=import-outside-toplevel
    from recsaver_t5x.data import prepare  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    t1 = time.perf_counter()
    argv = ["prepare", "--reviews", spec["reviews"], "--out", spec["out"], "--mode", "cap",
            "--train-per-label", str(spec["n_train"]), "--test-per-label", str(spec["n_test"]),
            "--seed", str(spec["seed"]),
            "--ingest", "strict" if spec["impl"] == "recsaver-strict" else "auto"]
    if spec["meta"]:
      argv += ["--meta", *spec["meta"]]
    with contextlib.redirect_stdout(sys.stderr):
      rc = cli.main(argv)
    if rc:
      raise SystemExit(f"recsaver prepare failed with exit code {rc}")
    with open(os.path.join(spec["out"], "manifest.json"), encoding="utf-8") as f:
      manifest = json.load(f)
    result = {"reviews_read": manifest["reviews_read"], "reviews_kept": manifest["reviews_kept"],
              "eligible_per_label": manifest["eligible_per_label"],
              "examples": sum(c["examples"] for c in manifest["counts"].values()),
              "ingest_s": manifest.get("ingest_seconds"), "stages": manifest.get("stage_seconds")}
  else:
    import pandas  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    t1 = time.perf_counter()
    result = pandas_prepare(spec["reviews"], tuple(spec["meta"]), spec["out"], spec["n_train"],
                            spec["n_test"], 4, 10, spec["seed"])
  t2 = time.perf_counter()
  return {**result, "import_s": t1 - t0, "work_s": t2 - t1}


@dataclasses.dataclass
class Run:
  impl: str
  reviews_read: int
  work_s: float
  import_s: float
  wall_s: float
  peak_rss_mib: float
  eligible: dict
  examples: int
  ingest_s: Optional[float] = None  # recsaver only: stage 1 (read + validate) from the manifest
  stages: Optional[dict] = None  # recsaver only: seconds per stage, from the manifest

  @property
  def ingest_rate(self) -> float:
    return self.reviews_read / self.ingest_s if self.ingest_s else float("nan")

  @property
  def rate(self) -> float:
    return self.reviews_read / self.work_s


def run_impl(impl: str, case: Case, args: argparse.Namespace, scratch: str) -> Run:
  out = tempfile.mkdtemp(prefix=f"{case.name}-{impl}-", dir=scratch)
  spec = {"impl": impl, "reviews": case.reviews, "meta": list(case.meta), "out": out,
          "n_train": args.train_per_label, "n_test": args.test_per_label, "seed": args.seed}
  env = {**os.environ, "TQDM_DISABLE": "1",
         "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
  t0 = time.perf_counter()
  with tempfile.TemporaryFile() as err:
    proc = subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(spec)], env=env,
                            stdout=subprocess.PIPE, stderr=err)
    stdout = proc.stdout.read()
    proc.stdout.close()
    # Reap with wait4: the rusage (peak RSS) of exactly this child, not of all children.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    err.seek(0)
    stderr = err.read()
  shutil.rmtree(out, ignore_errors=True)
  if proc.returncode != 0:
    raise SystemExit(f"{impl} on {case.name} failed (exit {proc.returncode}):\n"
                     + stderr.decode(errors="replace")[-3000:])
  res = json.loads(stdout.decode().strip().splitlines()[-1])
  return Run(impl, res["reviews_read"], res["work_s"], res["import_s"], wall,
             usage.ru_maxrss / 1024, res["eligible_per_label"], res["examples"], res.get("ingest_s"),
             res.get("stages"))


# ---------------------------------------------------------------- cases

def synthetic_case(args: argparse.Namespace) -> Case:
  """A cached synthetic category of at least --synthetic-reviews reviews (generated once)."""
  from recsaver_t5x.data import synth  # pylint: disable=import-outside-toplevel

  target = args.synthetic_reviews
  base = synth.SynthConfig(category="Synthetic_Bench", n_users=1, n_items=100_000, seed=args.seed)
  # Mean reviews per user from the configured count distribution, then top up to the target.
  k = range(base.max_reviews - base.min_reviews + 1)
  mean = base.min_reviews + sum(i * base.reviews_decay ** i for i in k) / sum(
      base.reviews_decay ** i for i in k)
  n_users = math.ceil(target / mean)
  cfg = dataclasses.replace(base, n_users=n_users)
  while synth.total_reviews(cfg) < target:
    cfg = dataclasses.replace(cfg, n_users=cfg.n_users + math.ceil(0.002 * n_users))
  out = os.path.join(args.cache_dir, f"synth_{target}_seed{args.seed}")
  summary = synth.write_category(cfg, out, progress=True)
  how = "cached" if summary.reused else "generated"
  print(f"synthetic: {how} {summary.n_reviews:,} reviews, {cfg.n_users:,} users, "
        f"{cfg.n_items:,} items in {out}"
        + ("" if summary.reused else
           f" ({summary.seconds:.1f} s, {summary.n_reviews / summary.seconds:,.0f} reviews/s)"),
        flush=True)
  return Case("synthetic", os.path.join(out, cfg.reviews_file),
              (os.path.join(out, cfg.meta_file),))


def cases(args: argparse.Namespace) -> list[Case]:
  known = {
      "all_beauty": lambda: Case("all_beauty", str(AMAZON / "all_beauty" / "All_Beauty_5.json.gz"), ()),
      "digital_music": lambda: Case(
          "digital_music", str(AMAZON / "digital_music" / "reviews_Digital_Music_5.head6908.json.gz"),
          (str(AMAZON / "digital_music" / "meta_Digital_Music.head7419.json.gz"),)),
      "synthetic": lambda: synthetic_case(args),
  }
  wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
  unknown = set(wanted) - known.keys()
  if unknown:
    raise SystemExit(f"unknown cases {sorted(unknown)}; choose from {sorted(known)}")
  return [known[c]() for c in wanted]


def _count(text: str) -> int:
  mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
  return int(float(text[:-1] if mult > 1 else text) * mult)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--cases", default="all_beauty,digital_music,synthetic")
  p.add_argument("--synthetic-reviews", type=_count, default=5_000_000)
  p.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "recsaver_bench"))
  p.add_argument("--train-per-label", type=int, default=800)
  p.add_argument("--test-per-label", type=int, default=100)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--worker", help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.worker:
    print(json.dumps(_worker(json.loads(args.worker))))
    return 0

  os.makedirs(args.cache_dir, exist_ok=True)
  scratch = tempfile.mkdtemp(prefix="runs-", dir=args.cache_dir)
  rows = []
  try:
    for case in cases(args):
      ours = run_impl("recsaver", case, args, scratch)
      old = run_impl("recsaver-strict", case, args, scratch)  # today's Python line loop
      ref = run_impl("pandas", case, args, scratch)
      rows.append((case, ours, ref, old))
      _print_case(case, ours, ref)
      print(f"  recsaver (Arrow ingest) / recsaver --ingest strict: speed {ours.rate / old.rate:.2f}x "
            f"({old.rate:,.0f} reviews/s strict), peak RSS {ours.peak_rss_mib / old.peak_rss_mib:.2f}x; "
            f"ingest stage alone {ours.ingest_rate / old.ingest_rate:.2f}x "
            f"({ours.ingest_rate:,.0f} vs {old.ingest_rate:,.0f} reviews/s)", flush=True)
      for r in (ours, old):
        print(f"  {r.impl} seconds per stage: "
              + ", ".join(f"{k} {v:.2f}" for k, v in (r.stages or {}).items()), flush=True)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  print("\nsummary (work time after imports; peak RSS of the whole subprocess):")
  print("| case | reviews | recsaver rev/s | strict rev/s | vs strict | ingest rev/s ours / strict "
        "| ingest vs strict | pandas rev/s | vs pandas | recsaver MiB | strict MiB | pandas MiB |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for case, ours, ref, old in rows:
    print(f"| {case.name} | {ours.reviews_read:,} | {ours.rate:,.0f} | {old.rate:,.0f} | "
          f"{ours.rate / old.rate:.2f}x | {ours.ingest_rate:,.0f} / {old.ingest_rate:,.0f} | "
          f"{ours.ingest_rate / old.ingest_rate:.2f}x | {ref.rate:,.0f} | {ours.rate / ref.rate:.2f}x | "
          f"{ours.peak_rss_mib:,.0f} | {old.peak_rss_mib:,.0f} | {ref.peak_rss_mib:,.0f} |")
  return 0


def _print_case(case: Case, ours: Run, ref: Run) -> None:
  print(f"\n== {case.name}: {os.path.basename(case.reviews)}"
        + (f" + {', '.join(os.path.basename(m) for m in case.meta)}" if case.meta else ""))
  for r in (ours, ref):
    print(f"  {r.impl:9s} {r.reviews_read:>11,} reviews  work {r.work_s:8.2f} s  "
          f"({r.rate:>10,.0f} reviews/s)  imports {r.import_s:5.2f} s  process {r.wall_s:8.2f} s  "
          f"peak RSS {r.peak_rss_mib:8,.0f} MiB  examples {r.examples:,}")
  same = ours.eligible == ref.eligible and ours.reviews_read == ref.reviews_read
  print(f"  recsaver/pandas: speed {ours.rate / ref.rate:.2f}x, peak RSS "
        f"{ours.peak_rss_mib / ref.peak_rss_mib:.2f}x; eligible per rating "
        f"{'agree' if same else 'DIFFER'}: {ours.eligible} vs {ref.eligible}", flush=True)


if __name__ == "__main__":
  sys.exit(main())
