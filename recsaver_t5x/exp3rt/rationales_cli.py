"""`recsaver exp3rt-rationales`: rating-conditioned rationales for the training examples, leakage
filter and self-verification (after `profiles`). Resumable through the sample store.

    recsaver exp3rt-rationales runs/x/prepared/magazine --out runs/x/exp3rt/magazine \\
        --store runs/x/teacher/samples.jsonl
"""
from __future__ import annotations

import argparse

from recsaver_t5x import argtypes
from recsaver_t5x.exp3rt.preferences_cli import COMMON_PATHS, add_common
from recsaver_t5x.teacher.options import add_teacher_arguments


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = COMMON_PATHS


def add_arguments(p: argparse.ArgumentParser) -> None:
  add_common(p)
  p.add_argument("--split", default="train", choices=("train", "test"),
                 help="which examples get rationales (targets)")
  p.add_argument("--temperature", "-T", type=argtypes.nonneg_float, default=0.1)
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=256)
  p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                 help="Rec-SAVER self-verification of the leakage-cleaned rationale (default on)")
  p.add_argument("--verify-max-tokens", type=argtypes.positive_int, default=48)
  add_teacher_arguments(p)


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import collections
  import os
  from recsaver_t5x.exp3rt import prompts, rationales, teacher_jobs, workdir
  from recsaver_t5x.data import io as data_io
  from recsaver_t5x.scale import RatingScale
  from recsaver_t5x.teacher.options import teacher_from_args
  from recsaver_t5x.teacher.sampler import describe, sample_jobs
  from recsaver_t5x.teacher.store import SampleStore

  cfg = workdir.read_config(args.out)
  scale = RatingScale.from_dict(cfg["scale"])
  budget = prompts.PromptBudget(**cfg["budget"])
  wording = prompts.domain_wording(cfg["domain"])
  items = {ex.target.asin: ex.target for s in ("train", "test")
           for ex in data_io.read_split(args.prepared, s)}
  profs = [p for p in workdir.read_jsonl(workdir.path(args.out, workdir.PROFILES), "profiles")
           if p["split"] == args.split]
  text_in = {p["example_id"]: rationales.inputs(p, items[p["asin"]], wording, budget, scale)
             for p in profs}
  r_cfg = teacher_jobs.CallConfig(args.temperature, args.max_tokens, cfg["extract"]["base_seed"])
  v_cfg = teacher_jobs.CallConfig(0.0, args.verify_max_tokens, cfg["extract"]["base_seed"])
  with SampleStore(args.store) as store, \
      teacher_from_args(args, log_dir=os.path.dirname(os.path.abspath(args.store))) as config:
    model = config.model
    jobs = [rationales.rationale_job(p["example_id"], text_in[p["example_id"]], p["true_rating"],
                                     wording, model, r_cfg, scale) for p in profs]
    r_stats = sample_jobs(config, store, jobs, desc="rationales", progress=not args.no_progress)
    v_stats = None
    if args.verify:
      jobs = []
      for p in profs:
        rec = rationales.collect_one(store, p["example_id"], p["true_rating"], model, r_cfg,
                                     v_cfg, scale)
        if rec and rec["cleaned"]:
          jobs.append(rationales.verify_job(p["example_id"], text_in[p["example_id"]],
                                            rec["cleaned"], wording, model, r_cfg, v_cfg, scale))
      v_stats = sample_jobs(config, store, jobs, desc="verification", progress=not args.no_progress)
    records = [rationales.collect_one(store, p["example_id"], p["true_rating"], model, r_cfg,
                                      v_cfg, scale) for p in profs]
  records = [r for r in records if r is not None]
  if not args.verify:
    records = [{**r, "status": "unverified" if r["cleaned"] else r["status"]} for r in records]
  cfg["rationale"] = {"temperature": r_cfg.temperature, "max_tokens": r_cfg.max_tokens,
                      "verify": bool(args.verify), "filter": "verified" if args.verify else "cleaned"}
  workdir.write_config(args.out, cfg)
  workdir.write_jsonl(workdir.path(args.out, workdir.RATIONALES), records)
  counts = collections.Counter(r["status"] for r in records)
  print(f"rationales: {describe(r_stats)}")
  if v_stats:
    print(f"verification: {describe(v_stats)}")
  print("status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
  return 0
