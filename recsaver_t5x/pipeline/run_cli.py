"""`recsaver run`: the whole pipeline from a run file (TOML) into one run directory."""
from __future__ import annotations

import argparse
from recsaver_t5x import paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "config": (_p.IN_FILE, "run file"),
    "run_dir": (_p.OUT_DIR, "run directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("config", nargs="?", help="run file (TOML); default: the embedded demo (configs/demo.toml)")
  p.add_argument("--run-dir", help="override the run file's run_dir (relative to the current directory)")
  p.add_argument("--from", dest="from_stage", metavar="STAGE", help="rerun this stage and every later one")
  p.add_argument("--only", metavar="STAGE", help="rerun just this stage")
  p.add_argument("--check", action="store_true", help="only check the run file and list the stages")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.pipeline import config, runner, stages  # pylint: disable=import-outside-toplevel
  from recsaver_t5x import paths  # pylint: disable=import-outside-toplevel
  cfg = config.load_run_config(args.config, stages.SECTIONS, args.run_dir)
  for d in cfg.domains:  # the data of every domain, before the first stage (and with --check)
    for p in d.reviews:
      paths.require_file(p, f"review file (domain {d.name})")
    for p in d.meta:
      paths.require_file(p, f"metadata file (domain {d.name})")
  print(f"recsaver run: {cfg.path}")
  print(f"  domains: {', '.join(d.name for d in cfg.domains)}")
  if args.check:
    print("  run file OK; stages: " + " -> ".join(s.name for s in stages.STAGES if s.enabled(cfg)))
    return 0
  runner.run_stages(cfg, stages.STAGES, from_stage=args.from_stage, only=args.only)
  stages.print_results(cfg)
  return 0
