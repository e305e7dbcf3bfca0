"""`recsaver report RUN_DIR [RUN_DIR ...]`: the report of one run, or several side by side."""
from __future__ import annotations

import argparse
import os
from recsaver_t5x import paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "run_dirs": (_p.IN_DIR, "run directory"),
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("run_dirs", nargs="+", help="run directories of `recsaver run`")
  p.add_argument("--out", help="output directory (default: RUN_DIR/report for one run, ./report otherwise)")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.report import build  # pylint: disable=import-outside-toplevel
  for d in args.run_dirs:
    if not os.path.isdir(os.path.join(d, "stages")):
      raise UserFacingError(f"{d}: not a run directory of `recsaver run` (no stages/)")
  out = args.out or (os.path.join(args.run_dirs[0], "report") if len(args.run_dirs) == 1 else "report")
  md, html = build.build_report(args.run_dirs, out)
  print(f"wrote {md} and {html}")
  return 0
