"""`recsaver sample`: M teacher reasoning paths per training example at temperature T."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from recsaver_t5x.teacher.options import TEACHER_PATHS, add_teacher_arguments
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "store": (_p.OUT_FILE, "sample store"),
    **TEACHER_PATHS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (from `recsaver prepare`)")
  p.add_argument("--store", required=True, help="sample store JSONL (created or resumed)")
  p.add_argument("--split", default="train", choices=("train", "test"))
  p.add_argument("--variant", default="reasoning", help="prompt variant")
  p.add_argument("--samples", "-M", type=argtypes.positive_int, default=4, help="M reasoning paths per example")
  p.add_argument("--temperature", "-T", type=argtypes.nonneg_float, default=0.7)
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=512)
  p.add_argument("--limit", type=argtypes.positive_int, default=None, help="only N examples, taken round-robin over ratings")
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0, help="base seed of the per-sample seeds")
  p.add_argument("--max-prompt-chars", type=argtypes.positive_int, default=8000)
  p.add_argument("--max-field-chars", type=argtypes.positive_int, default=1200)
  p.add_argument("--json-schema", action="store_true",
                 help="ask for JSON {reason, rating} (grammar-constrained on llama.cpp)")
  p.add_argument("--no-progress", action="store_true")
  add_teacher_arguments(p)


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.answer import parse_answer
  from recsaver_t5x.prompting.variants import Budget, get_variant
  from recsaver_t5x.teacher.client import RATING_SCHEMA, json_schema_format
  from recsaver_t5x.teacher.options import constrained_mode, teacher_from_args
  from recsaver_t5x.teacher.sampler import SamplingConfig, describe, example_jobs, sample_jobs
  from recsaver_t5x.teacher.store import SampleStore
  from recsaver_t5x.teacher.zeroshot import stratified_head

  variant = get_variant(args.variant)
  if variant.one_shot:
    raise UserFacingError("`recsaver sample` does not take the one_shot variant (see `recsaver zeroshot`)")
  if args.samples < 1:
    raise UserFacingError("--samples must be >= 1")
  examples = stratified_head(data_io.read_split(args.prepared, args.split), args.limit)
  cfg = SamplingConfig(num_samples=args.samples, temperature=args.temperature,
                       scale=data_io.rating_scale(args.prepared),
                       max_tokens=args.max_tokens, base_seed=args.seed, logprobs=args.logprobs,
                       response_format=json_schema_format(RATING_SCHEMA) if args.json_schema else None,
                       budget=Budget(max_prompt_chars=args.max_prompt_chars,
                                     max_field_chars=args.max_field_chars))
  log_dir = os.path.dirname(os.path.abspath(args.store))
  with SampleStore(args.store) as store, teacher_from_args(args, log_dir=log_dir) as config:
    if store.repaired_bytes:
      print(f"{args.store}: removed a torn last record ({store.repaired_bytes} bytes)", file=sys.stderr)
    cfg = dataclasses.replace(cfg, constrained=constrained_mode(args, config))
    jobs = example_jobs(examples, variant, config.model, cfg)
    stats = sample_jobs(config, store, jobs, desc=f"{args.split}/{variant.name}",
                        progress=not args.no_progress)
    mine = [store.get(j.key) for j in jobs]
  parsed = [parse_answer(s.text) for s in mine]
  ok = sum(p.parsed for p in parsed)
  correct = sum(p.rating == ex.true_rating for p, ex in
                zip(parsed, (e for e in examples for _ in range(args.samples))))
  print(f"{len(examples)} examples x M={args.samples} at T={args.temperature}: {describe(stats)}")
  print(f"parsed {ok}/{len(mine)} answers; rating equals the truth in {correct}/{len(mine)}; "
        f"store {args.store} holds {len(store)} samples")
  return 0
