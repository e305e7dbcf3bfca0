"""`recsaver alignment`: human annotations (+ reasoning metrics) -> Tables 6, 7, 8, 9 and 13."""
from __future__ import annotations

import argparse
import json
import os
from recsaver_t5x import paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "annotations": (_p.IN_FILE, "annotations file"),
    "metrics": (_p.IN_FILE, "metrics file"),
    "metrics_unverified": (_p.IN_FILE, "metrics file"),
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("annotations", help="human annotations, .csv (header row) or .jsonl: annotator, "
                                     "example_id, coherence 1-5, faithfulness 0/1, "
                                     "insightfulness 1-5 [, error_types, sample_index, correct | "
                                     "predicted_rating + rating]")
  p.add_argument("--metrics", help="per-candidate reasoning metrics against verified references "
                                   "(.csv/.jsonl from `recsaver reasoning-metrics`): Tables 7-9")
  p.add_argument("--metrics-unverified",
                 help="the same metrics against unverified references (every cleaned "
                      "explanation): Table 9")
  p.add_argument("--welch", action="store_true",
                 help="Welch's t-test instead of Student's (pooled variance)")
  p.add_argument("--out", help="also write alignment.md and alignment.json to this directory")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.recsaver import alignment  # pylint: disable=import-outside-toplevel
  annotations = alignment.read_annotations(args.annotations)
  metrics = alignment.read_metric_rows(args.metrics) if args.metrics else None
  unverified = None
  if args.metrics_unverified:
    if not metrics:
      raise UserFacingError("--metrics-unverified needs --metrics (the verified-reference scores)")
    unverified = alignment.read_metric_rows(args.metrics_unverified)
  tables = alignment.alignment_tables(annotations, metrics, unverified, equal_var=not args.welch)
  text = "\n\n".join(t.to_markdown() for t in tables)
  if not metrics:
    text += "\n\n(Tables 7 and 9 need --metrics; Table 9 also --metrics-unverified.)"
  elif not unverified:
    text += "\n\n(Table 9 needs --metrics-unverified.)"
  print(text)
  if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "alignment.md"), "w", encoding="utf-8") as f:
      f.write(text + "\n")
    with open(os.path.join(args.out, "alignment.json"), "w", encoding="utf-8") as f:
      json.dump({"inputs": {"annotations": args.annotations, "metrics": args.metrics,
                            "metrics_unverified": args.metrics_unverified,
                            "t_test": "welch" if args.welch else "student"},
                 "tables": [t.to_dict() for t in tables]}, f, indent=1)
  return 0
