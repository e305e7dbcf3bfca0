"""`recsaver preferences`: select each example's profile reviews and extract their preferences.

    recsaver preferences runs/x/prepared/magazine --out runs/x/exp3rt/magazine \\
        --store runs/x/teacher/samples.jsonl --limit 20 --user-cap 10 --item-cap 10

Resumable and idempotent through the sample store (one call per review, T = 0.1, 200 tokens).
"""
from __future__ import annotations

import argparse
import sys

from recsaver_t5x import argtypes, paths as _p
from recsaver_t5x.teacher.options import TEACHER_PATHS, add_teacher_arguments
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_DIR, "EXP3RT directory"),
    "store": (_p.OUT_FILE, "sample store"),
    **TEACHER_PATHS,
}
COMMON_PATHS = PATHS  # profiles and exp3rt-rationales take the same


def add_common(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (from `recsaver prepare`)")
  p.add_argument("--out", required=True, help="the domain's EXP3RT directory")
  p.add_argument("--store", required=True, help="teacher sample store JSONL (created or resumed)")
  p.add_argument("--no-progress", action="store_true")


def add_arguments(p: argparse.ArgumentParser) -> None:
  add_common(p)
  p.add_argument("--splits", default=("train", "test"), type=argtypes.choice_list(("train", "test")),
                 help="prepared splits to build profiles for (comma-separated)")
  p.add_argument("--limit", type=argtypes.positive_int, default=None,
                 help="only N examples per split, taken round-robin over ratings")
  p.add_argument("--user-cap", type=argtypes.positive_int, default=10, help="reviews per user profile")
  p.add_argument("--item-cap", type=argtypes.positive_int, default=10, help="reviews per item profile")
  p.add_argument("--criterion", default="helpful", choices=("helpful", "similar"),
                 help="which item reviews: most helpful votes, or most similar to the user profile")
  p.add_argument("--item-pool", type=argtypes.positive_int, default=30,
                 help="similar: the most recent candidates ranked by similarity")
  p.add_argument("--scale", default=None, type=argtypes.checked(lambda s: parse_scale(s)),  # defined below
                 help="rating scale LOW..HIGH[:POSITIVE_ABOVE] "
                 "(default: the prepared manifest's, else 1..5:3)")
  p.add_argument("--temperature", "-T", type=argtypes.nonneg_float, default=0.1)
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=200)
  p.add_argument("--review-chars", type=argtypes.positive_int, default=600)
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  add_teacher_arguments(p)


def parse_scale(spec: str | None):
  """'1..10' or '1..10:6' -> RatingScale; None -> None."""
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.scale import RatingScale  # pylint: disable=import-outside-toplevel
  if spec is None:
    return None
  try:
    rng, _, pos = spec.partition(":")
    low, high = (int(x) for x in rng.split(".."))
    return RatingScale(low, high, int(pos) if pos else (low + high) // 2 + (high - low > 4))
  except ValueError as e:
    raise UserFacingError(f"--scale {spec!r}: expected LOW..HIGH[:POSITIVE_ABOVE], e.g. 1..10:6 "
                          f"({e})") from None


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import dataclasses
  import os
  from recsaver_t5x.exp3rt import corpus as corpus_lib, preferences, prompts, selection, workdir
  from recsaver_t5x.exp3rt.teacher_jobs import CallConfig
  from recsaver_t5x.teacher.options import teacher_from_args
  from recsaver_t5x.teacher.sampler import describe, sample_jobs
  from recsaver_t5x.teacher.store import SampleStore
  from recsaver_t5x.teacher.zeroshot import stratified_head

  corpus, scale = corpus_lib.load_for(args.prepared, parse_scale(args.scale))
  sel_cfg = selection.SelectionConfig(args.user_cap, args.item_cap, args.criterion, args.item_pool)
  examples = []
  for split in args.splits:
    examples += stratified_head(data_io.read_split(args.prepared, split), args.limit)
  domain = examples[0].domain if examples else os.path.basename(args.prepared.rstrip("/"))
  held_out = {(e.user_id, e.target.asin, e.timestamp) for e in data_io.read_split(args.prepared, "test")}
  sels = selection.select(corpus, examples, sel_cfg, held_out)
  review_ids = preferences.needed_reviews(sels)
  call = CallConfig(args.temperature, args.max_tokens, args.seed)
  budget = prompts.PromptBudget(review_chars=args.review_chars)
  wording = prompts.domain_wording(domain)
  with SampleStore(args.store) as store, \
      teacher_from_args(args, log_dir=os.path.dirname(os.path.abspath(args.store))) as config:
    jobs = preferences.extraction_jobs(corpus, review_ids, config.model, call, wording, budget)
    stats = sample_jobs(config, store, jobs, desc="preferences", progress=not args.no_progress)
    records = preferences.collect(corpus, store, review_ids, config.model, call, wording,
                                  budget)
  workdir.write_config(args.out, {
      "prepared": os.path.abspath(args.prepared), "domain": domain, "teacher_model": config.model,
      "selection": dataclasses.asdict(sel_cfg),
      "scale": scale.to_dict(), "extract": dataclasses.asdict(call),
      "budget": dataclasses.asdict(budget),
      "splits": ",".join(args.splits), "limit": args.limit})
  workdir.write_jsonl(workdir.path(args.out, workdir.SELECTION), (s.to_dict() for s in sels))
  workdir.write_jsonl(workdir.path(args.out, workdir.PREFERENCES), records)
  n_parsed = sum(r["parsed"] for r in records)
  print(f"{len(examples)} examples, {len(review_ids)} reviews to extract: {describe(stats)}")
  print(f"parsed [Like]/[Dislike] in {n_parsed}/{len(records)} answers; wrote {args.out}",
        file=sys.stdout)
  return 0
