"""`recsaver references`: Rec-SAVER verified references (Algorithm 1) for a prepared split."""
from __future__ import annotations

import argparse
import dataclasses
import json
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
    "out": (_p.OUT_FILE, "references file"),
    **TEACHER_PATHS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (from `recsaver prepare`)")
  p.add_argument("--store", required=True,
                 help="teacher sample store JSONL (created or resumed; may be the one of "
                      "`recsaver sample`: the Rec-SAVER calls have their own variant names)")
  p.add_argument("--out", required=True,
                 help="references JSONL to write (one line per example); the summary goes to "
                      "<out>.summary.json")
  p.add_argument("--split", default="test", choices=("train", "test"))
  p.add_argument("--explanations", "-N", type=argtypes.positive_int, default=4,
                 help="N post-hoc explanations per example")
  p.add_argument("--temperature", "-T", type=argtypes.nonneg_float, default=0.7,
                 help="temperature of the explanation calls")
  p.add_argument("--verify-temperature", type=argtypes.nonneg_float, default=0.0,
                 help="temperature of the self-verification calls")
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=384, help="explanation length limit")
  p.add_argument("--verify-max-tokens", type=argtypes.positive_int, default=64)
  p.add_argument("--verify-json-schema", action="store_true",
                 help="verifier answers JSON {\"rating\": 1..5} (grammar-constrained on "
                      "llama.cpp): always parseable, recommended for small teachers")
  p.add_argument("--limit", type=argtypes.positive_int, default=None,
                 help="only N examples, taken round-robin over ratings (as `recsaver sample`)")
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0, help="base seed of the per-call seeds")
  p.add_argument("--max-prompt-chars", type=argtypes.positive_int, default=8000)
  p.add_argument("--max-field-chars", type=argtypes.positive_int, default=1200)
  p.add_argument("--no-progress", action="store_true")
  add_teacher_arguments(p)


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.prompting.variants import Budget
  from recsaver_t5x.recsaver import references as refs
  from recsaver_t5x.teacher.options import constrained_mode, teacher_from_args
  from recsaver_t5x.teacher.store import SampleStore
  from recsaver_t5x.teacher.zeroshot import stratified_head

  cfg = refs.ReferenceConfig(
      num_explanations=args.explanations, temperature=args.temperature,
      verify_temperature=args.verify_temperature, max_tokens=args.max_tokens,
      verify_max_tokens=args.verify_max_tokens, base_seed=args.seed,
      verify_json=args.verify_json_schema, scale=data_io.rating_scale(args.prepared),
      budget=Budget(max_prompt_chars=args.max_prompt_chars, max_field_chars=args.max_field_chars))
  from recsaver_t5x import paths
  paths.distinct_outputs([args.out, args.out + ".summary.json"],
                         [args.store, *(os.path.join(args.prepared, f) for f in os.listdir(args.prepared))]
                         if os.path.isdir(args.prepared) else [args.store])
  paths.writable_dir(os.path.dirname(os.path.abspath(args.out)))
  examples = stratified_head(data_io.read_split(args.prepared, args.split), args.limit)
  log_dir = os.path.dirname(os.path.abspath(args.store))
  with SampleStore(args.store) as store, teacher_from_args(args, log_dir=log_dir) as config:
    if store.repaired_bytes:
      print(f"{args.store}: removed a torn last record ({store.repaired_bytes} bytes)",
            file=sys.stderr)
    cfg = dataclasses.replace(cfg, constrained=constrained_mode(args, config))
    records = refs.generate(config, store, examples, cfg, progress=not args.no_progress)
    model = config.model
  refs.write_references(args.out, records)
  s = refs.summary(records)
  s["config"] = {"teacher_model": model, "split": args.split, "examples": len(examples),
                 "num_explanations": cfg.num_explanations, "temperature": cfg.temperature,
                 "verify_temperature": cfg.verify_temperature, "verify_json": cfg.verify_json,
                 "constrained": cfg.constrained,
                 "store": args.store}
  with open(args.out + ".summary.json", "w", encoding="utf-8") as f:
    json.dump(s, f, indent=1)
  print(f"Rec-SAVER references: {len(examples)} {args.split} examples x N={cfg.num_explanations} "
        f"explanations at T={cfg.temperature:g}, teacher {model}")
  print(refs.format_summary(s))
  print(f"wrote {args.out} and {args.out}.summary.json")
  return 0
