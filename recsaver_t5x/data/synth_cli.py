"""`recsaver synth`: write a synthetic Amazon-2018-format category (reviews + metadata).

Example (about 10 million reviews):
  recsaver synth --out /tmp/synth --category Synthetic_Goods --users 1.4M --items 200k
"""
from __future__ import annotations

import argparse
import math
import re

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def count(text: str) -> int:
  """Parses counts such as 5000, 5_000, 200k, 1.5M."""
  m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([kKmMgG]?)\s*", text)
  if not m:
    raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 5000, 200k, 1.5M)")
  value = float(m.group(1).replace("_", "")) * _SUFFIX[m.group(2).lower()]
  if value != int(value):
    raise argparse.ArgumentTypeError(f"not a whole count: {text!r}")
  return int(value)


def reviews_range(text: str) -> tuple[int, int]:
  """'5-20' -> (5, 20); '7' -> (7, 7)."""
  m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
  if not m:
    raise argparse.ArgumentTypeError(f"reviews per user: expected N or MIN-MAX, got {text!r}")
  lo = int(m.group(1))
  return lo, int(m.group(2) or lo)


def skew(text: str) -> tuple[float, ...]:
  try:
    shares = tuple(float(x) for x in text.split(","))
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"rating skew: expected 5 comma-separated shares, got {text!r}") from None
  if not all(math.isfinite(s) and s >= 0 for s in shares):
    raise argparse.ArgumentTypeError(f"rating skew: shares must be finite and >= 0, got {text!r}")
  return shares


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--out", required=True, help="output directory")
  parser.add_argument("--category", default="Synthetic_Goods",
                      help="category name; files are <Category>_5.json.gz, meta_<Category>.json.gz")
  parser.add_argument("--users", type=count, default=1000, help="number of users (e.g. 1.4M)")
  parser.add_argument("--items", type=count, default=200, help="number of items")
  parser.add_argument("--reviews-per-user", type=reviews_range, default=(5, 20),
                      metavar="MIN-MAX", help="reviews per user, N or MIN-MAX (default 5-20)")
  parser.add_argument("--reviews-decay", type=argtypes.float_in(0.0, 1.0, low_open=True), default=0.7,
                      help="P(min + k reviews) ~ decay**k; 1 = uniform (default 0.7)")
  parser.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  parser.add_argument("--rating-skew", type=skew, default=None, metavar="P1,...,Pn",
                      help="target share of 1..n stars, n = 2..10 (default 0.08,0.05,0.09,0.20,0.58; "
                           "10 shares give an IMDB-like 1..10 scale)")
  parser.add_argument("--noise", type=argtypes.nonneg_float, default=0.5, help="rating noise s.d. (score units)")
  parser.add_argument("--duplicate-rate", type=argtypes.float_in(0.0, 1.0, high_open=True), default=0.0,
                      help="share of reviews written twice, as the 2018 files repeat variants")
  parser.add_argument("--gzip-level", type=argtypes.int_at_least(0, 9), default=1)
  parser.add_argument("--force", action="store_true", help="overwrite output made with other params")
  parser.add_argument("--no-progress", action="store_true")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.data import synth  # pylint: disable=import-outside-toplevel

  lo, hi = args.reviews_per_user
  cfg = synth.SynthConfig(
      category=args.category, n_users=args.users, n_items=args.items, min_reviews=lo,
      max_reviews=hi, reviews_decay=args.reviews_decay, seed=args.seed,
      rating_skew=args.rating_skew or synth.DEFAULT_SKEW, noise=args.noise,
      duplicate_rate=args.duplicate_rate, gzip_level=args.gzip_level)
  try:
    summary = synth.write_category(cfg, args.out, progress=not args.no_progress, force=args.force)
  except OSError as e:
    raise UserFacingError(f"{args.out}: cannot write ({e.strerror or e})") from None
  n = summary.n_reviews
  stars = " / ".join(f"{summary.rating_counts[str(r)]:,} ({summary.rating_counts[str(r)] / n:.1%})"
                     for r in range(1, len(summary.rating_counts) + 1))
  verb = "up to date (same parameters), not regenerated:" if summary.reused else "wrote"
  print(f"{verb} {n:,} synthetic reviews ({summary.n_lines:,} lines) by {summary.n_users:,} users "
        f"on {summary.n_items:,} items in {args.out}")
  print(f"stars 1..{len(summary.rating_counts)}: {stars}")
  if not summary.reused:
    print(f"{summary.seconds:.1f} s, {n / max(summary.seconds, 1e-9):,.0f} reviews/s")
  return 0
