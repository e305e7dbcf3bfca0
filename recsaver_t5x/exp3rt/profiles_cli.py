"""`recsaver profiles`: user and item profiles for every selected example (after `preferences`).

    recsaver profiles runs/x/prepared/magazine --out runs/x/exp3rt/magazine \\
        --store runs/x/teacher/samples.jsonl

User profiles first (one call per example: its time bounds the profile), then, for the
`similar` criterion, the item reviews most similar to that user profile (packaged MiniLM), then
item profiles. Resumable and idempotent through the sample store.
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
  p.add_argument("--temperature", "-T", type=argtypes.nonneg_float, default=0.1)
  p.add_argument("--max-tokens", type=argtypes.positive_int, default=200)
  p.add_argument("--embedding-model", default=None,
                 help="sentence-transformers directory for `similar` (default: packaged MiniLM)")
  add_teacher_arguments(p)


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import dataclasses
  import functools
  import os
  from recsaver_t5x.exp3rt import embed, profiles, prompts, selection, teacher_jobs, workdir
  from recsaver_t5x.teacher.options import teacher_from_args
  from recsaver_t5x.teacher.sampler import describe, sample_jobs
  from recsaver_t5x.teacher.store import SampleStore

  cfg = workdir.read_config(args.out)
  sel_cfg = selection.SelectionConfig(**cfg["selection"])
  budget = prompts.PromptBudget(**cfg["budget"])
  wording = prompts.domain_wording(cfg["domain"])
  sels = [selection.Selection.from_dict(d)
          for d in workdir.read_jsonl(workdir.path(args.out, workdir.SELECTION), "preferences")]
  prefs = {d["review_id"]: d
           for d in workdir.read_jsonl(workdir.path(args.out, workdir.PREFERENCES), "preferences")}
  call = teacher_jobs.CallConfig(args.temperature, args.max_tokens, cfg["extract"]["base_seed"])
  item_variant = teacher_jobs.item_variant(sel_cfg.criterion)
  embed_fn = functools.partial(embed.embed, path=args.embedding_model)
  users = {s.example_id: profiles.user_inputs(s, prefs, wording, budget) for s in sels}
  with SampleStore(args.store) as store, \
      teacher_from_args(args, log_dir=os.path.dirname(os.path.abspath(args.store))) as config:
    model = config.model
    jobs = [j for s in sels for j in profiles.call_jobs(
        s.example_id, teacher_jobs.USER_PROFILE, users[s.example_id], model, call)]
    u_stats = sample_jobs(config, store, jobs, desc="user profiles", progress=not args.no_progress)
    user_profile = {s.example_id: profiles.stored_profile(
        store, s.example_id, teacher_jobs.USER_PROFILE, users[s.example_id], model, call)
        for s in sels}
    items = {s.example_id: profiles.inputs_for(
        "item", profiles.item_review_ids(s, sel_cfg, user_profile[s.example_id], prefs, embed_fn),
        prefs, wording, budget) for s in sels}
    jobs = [j for s in sels for j in profiles.call_jobs(
        s.example_id, item_variant, items[s.example_id], model, call)]
    i_stats = sample_jobs(config, store, jobs, desc="item profiles", progress=not args.no_progress)
    records = [profiles.record(s, users[s.example_id], user_profile[s.example_id],
                               items[s.example_id], profiles.stored_profile(
                                   store, s.example_id, item_variant, items[s.example_id],
                                   model, call), sel_cfg.criterion) for s in sels]
  cfg["profile"] = dataclasses.asdict(call)
  workdir.write_config(args.out, cfg)
  n = workdir.write_jsonl(workdir.path(args.out, workdir.PROFILES), records)
  print(f"user profiles: {describe(u_stats)}\nitem profiles ({sel_cfg.criterion}): "
        f"{describe(i_stats)}\nwrote {n} profile records to {args.out}")
  return 0
