"""`recsaver zeroshot`: prompt variants over the test split -> Table 3 (markdown, CSV, raw samples)."""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys

from recsaver_t5x.teacher.options import TEACHER_PATHS, add_teacher_arguments
from recsaver_t5x import argtypes
from recsaver_t5x.eval.rating_metrics import check_unparsed_policy
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io

METRIC_KEYS = ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse", "binary_auc", "multi_auc",
               "n", "n_unparsed", "n_truncated", "n_with_probs")


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_DIR, "output directory"),
    "store": (_p.OUT_FILE, "sample store"),
    **TEACHER_PATHS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (from `recsaver prepare`)")
  p.add_argument("--out", required=True, help="output directory (table, predictions, samples)")
  p.add_argument("--variants", default="reasoning,no_reasoning,no_review,no_review_no_rating,"
                                       "no_description,one_shot",
                 help="comma-separated prompt variants, or 'all'")
  p.add_argument("--temperature", type=argtypes.nonneg_float, default=0.0)
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=512)
  p.add_argument("--limit", type=argtypes.positive_int, default=None, help="only N test examples, taken round-robin over ratings (smoke runs)")
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0, help="base seed of the per-sample seeds")
  p.add_argument("--max-prompt-chars", type=argtypes.positive_int, default=8000)
  p.add_argument("--max-field-chars", type=argtypes.positive_int, default=1200)
  p.add_argument("--demo-tries", type=argtypes.positive_int, default=16,
                 help="one_shot: training examples tried for a solved demonstration")
  p.add_argument("--unparsed", default="exclude",
                 type=argtypes.checked(check_unparsed_policy),
                 help="how unparsed answers count: 'exclude' or 'fallback:K' (always reported; "
                 "'distribution' is for students: a teacher's unparsed answer has no rating "
                 "position to read probabilities at)")
  p.add_argument("--store", help="sample store (default: <out>/samples.jsonl)")
  p.add_argument("--no-progress", action="store_true")
  add_teacher_arguments(p)


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.eval.rating_metrics import AUC_COLUMNS, TABLE3_COLUMNS, format_table
  from recsaver_t5x.prompting.variants import Budget, parse_variants
  from recsaver_t5x.teacher.options import constrained_mode, teacher_from_args
  from recsaver_t5x.teacher.sampler import SamplingConfig
  from recsaver_t5x.teacher.store import SampleStore
  from recsaver_t5x.teacher.zeroshot import stratified_head, zeroshot

  from recsaver_t5x.errors import UserFacingError
  if not (args.unparsed == "exclude" or args.unparsed.startswith("fallback:")):
    raise UserFacingError(f"--unparsed {args.unparsed!r}: use 'exclude' or 'fallback:K' for a "
                          "teacher ('distribution' is a student policy, see `recsaver evaluate`)")
  variants = parse_variants(args.variants)
  test = stratified_head(data_io.read_split(args.prepared, "test"), args.limit)
  train = data_io.read_split(args.prepared, "train") if any(v.one_shot for v in variants) else []
  from recsaver_t5x import paths
  paths.writable_dir(args.out)
  cfg = SamplingConfig(num_samples=1, temperature=args.temperature, max_tokens=args.max_tokens,
                       scale=data_io.rating_scale(args.prepared),
                       base_seed=args.seed, logprobs=args.logprobs,
                       budget=Budget(max_prompt_chars=args.max_prompt_chars,
                                     max_field_chars=args.max_field_chars))
  store_path = args.store or os.path.join(args.out, "samples.jsonl")
  with SampleStore(store_path) as store, teacher_from_args(args, log_dir=args.out) as config:
    if store.repaired_bytes:
      print(f"{store_path}: removed a torn last record ({store.repaired_bytes} bytes)", file=sys.stderr)
    cfg = dataclasses.replace(cfg, constrained=constrained_mode(args, config))
    result = zeroshot(config, store, test, train, variants, cfg, demo_tries=args.demo_tries,
                      unparsed=args.unparsed, progress=not args.no_progress)
    model, urls = config.model, config.base_urls

  columns = TABLE3_COLUMNS + (AUC_COLUMNS if args.logprobs else ())
  table = format_table(result.rows, columns=columns)
  note = (f"Zero-shot on {len(test)} test examples of {args.prepared}; teacher {model}; "
          f"T={args.temperature}; unparsed answers: {args.unparsed} (count in 'unparsed'); "
          f"output {'constrained: ' + cfg.constrained if cfg.constrained else 'free (the paper)'}.")
  if args.logprobs:
    note += " AUCs are over the answers with rating probabilities (n_with_probs in the CSV)."
  if result.demo_example_id:
    note += f" One-shot demonstration: {result.demo_example_id}."
  with open(os.path.join(args.out, "zeroshot.md"), "w", encoding="utf-8") as f:
    f.write(note + "\n\n" + table + "\n")
  with open(os.path.join(args.out, "zeroshot.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["method"] + list(METRIC_KEYS))
    for name, m in result.rows:
      w.writerow([name] + [m.get(k) for k in METRIC_KEYS])
  with open(os.path.join(args.out, "predictions.jsonl"), "w", encoding="utf-8") as f:
    for preds in result.predictions.values():
      for p in preds:
        f.write(json.dumps(dataclasses.asdict(p)) + "\n")
  with open(os.path.join(args.out, "run.json"), "w", encoding="utf-8") as f:
    json.dump({"prepared": args.prepared, "model": model, "base_urls": list(urls),
               "variants": [v.name for v in variants], "temperature": args.temperature,
               "max_tokens": args.max_tokens, "seed": args.seed, "n_test": len(test),
               "budget": dataclasses.asdict(cfg.budget), "unparsed": args.unparsed,
               "constrained": cfg.constrained,
               "demo_example_id": result.demo_example_id, "store": store_path}, f, indent=2)
  print(note)
  print(table)
  print(f"wrote {args.out}/zeroshot.md, zeroshot.csv, predictions.jsonl; raw samples in {store_path}")
  return 0
