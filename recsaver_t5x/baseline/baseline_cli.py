"""`recsaver baseline`: the naive user-average baseline on prepared data (Table 3 rows)."""
from __future__ import annotations

import argparse
import csv
import os
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", nargs="+", help="prepared dataset directories (from `recsaver prepare`)")
  p.add_argument("--split", default="test", choices=("train", "test"))
  p.add_argument("--out", help="also write baseline.md and baseline.csv here")


def baseline_rows(prepared_dirs, split: str) -> list[tuple[str, dict]]:
  """One (name, metrics) row per prepared directory."""
  from recsaver_t5x.baseline import user_average as baseline
  from recsaver_t5x.eval import rating_metrics  # pylint: disable=import-outside-toplevel
  rows = []
  for d in prepared_dirs:
    examples = data_io.read_split(d, split)
    domain = data_io.manifest_domain(d)
    m = rating_metrics.rating_metrics([e.true_rating for e in examples],
                                      baseline.user_average_predictions(examples),
                                      probs=baseline.user_average_probabilities(examples) or None)
    rows.append((f"{domain}: naive user average", m))
  return rows


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.eval import rating_metrics  # pylint: disable=import-outside-toplevel
  rows = baseline_rows(args.prepared, args.split)
  table = rating_metrics.format_table(rows)
  print(f"Naive baseline on the {args.split} split (positive = rating > 3; '-' = undefined, e.g. no examples)")
  print(table)
  if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "baseline.md"), "w", encoding="utf-8") as f:
      f.write(table + "\n")
    keys = ["binary_acc", "binary_f1", "multi_acc", "mae", "rmse", "binary_auc", "multi_auc", "n", "n_unparsed"]
    with open(os.path.join(args.out, "baseline.csv"), "w", newline="", encoding="utf-8") as f:
      w = csv.writer(f)
      w.writerow(["method"] + keys)
      for name, m in rows:
        w.writerow([name] + [m.get(k) for k in keys])
  return 0
