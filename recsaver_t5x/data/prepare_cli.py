"""`recsaver prepare`: raw review dumps -> a prepared example directory."""
from __future__ import annotations

import argparse
import os
import re
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p


def infer_domain(path: str) -> str:
  """'All_Beauty_5.json.gz' -> 'all_beauty'; 'reviews_Digital_Music_5.json' -> 'digital_music'."""
  name = os.path.basename(path).split(".")[0]
  name = re.sub(r"^(reviews_|meta_)", "", name)
  name = re.sub(r"_5$", "", name)
  return name.lower()


def _scale(spec: str) -> tuple[int, int, int]:
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.scale import RatingScale  # pylint: disable=import-outside-toplevel
  m = re.fullmatch(r"(\d+)\.\.(\d+):(\d+)", spec.strip())
  if not m:
    raise UserFacingError(f"--scale {spec!r}: expected LOW..HIGH:POSITIVE_ABOVE, e.g. 1..10:6")
  try:
    s = RatingScale(*(int(x) for x in m.groups()))
  except ValueError as e:
    raise UserFacingError(f"--scale {spec!r}: {e}") from None
  return (s.low, s.high, s.positive_above)


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "reviews": (_p.MAYBE_FILE, "review file"),
    "meta": (_p.MAYBE_FILE, "metadata file"),
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("--reviews", nargs="+", required=True, help="review files (2014, 2018 or 2023 JSON lines, .gz or plain; layout detected per file)")
  p.add_argument("--meta", nargs="*", default=[], help="item metadata files (2018/2023 JSON or 2014 Python-literal lines; 2023 joins on parent_asin)")
  p.add_argument("--domain", help="domain name (default: from the first review file name)")
  p.add_argument("--out", required=True, help="output directory")
  p.add_argument("--train-per-label", type=argtypes.nonneg_int, default=800)
  p.add_argument("--test-per-label", type=argtypes.nonneg_int, default=100)
  p.add_argument("--min-history", type=argtypes.nonneg_int, default=4)
  p.add_argument("--max-history", type=argtypes.nonneg_int, default=10)
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  p.add_argument("--mode", choices=("strict", "cap"), default="strict",
                 help="strict: fail when a label falls short; cap: take what exists and report the imbalance")
  p.add_argument("--max-examples-per-user", type=argtypes.positive_int, default=None)
  p.add_argument("--skip-bad-records", action="store_true", help="count and skip invalid records instead of failing")
  p.add_argument("--ingest", choices=("auto", "strict"), default="auto",
                 help="auto: Arrow's JSON reader for valid files, the strict Python reader for the "
                      "others; strict: always the Python reader (as before)")
  p.add_argument("--memory-limit", type=argtypes.memory_size, default="2GB", help="DuckDB memory limit before spilling to disk")
  p.add_argument("--scale", default="1..5:3", metavar="LOW..HIGH:POSITIVE_ABOVE",
                 help="the domain's rating scale (default 1..5:3; e.g. 1..10:6), kept in the manifest")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.data import prepare  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  if args.min_history > args.max_history:
    raise UserFacingError(f"--min-history {args.min_history} is above --max-history {args.max_history}")
  cfg = prepare.PrepareConfig(
      domain=args.domain or infer_domain(args.reviews[0]), reviews=tuple(args.reviews), meta=tuple(args.meta),
      train_per_label=args.train_per_label, test_per_label=args.test_per_label,
      min_history=args.min_history, max_history=args.max_history, seed=args.seed, mode=args.mode,
      skip_bad_records=args.skip_bad_records, max_examples_per_user=args.max_examples_per_user,
      memory_limit=args.memory_limit, rating_scale=_scale(args.scale), ingest=args.ingest)
  manifest = prepare.prepare(cfg, args.out)
  print(f"[{cfg.domain}] prepared -> {args.out}")
  for line in prepare.summarize(manifest):
    print(f"  {line}")
  return 0
