"""`recsaver exp3rt-report`: the EXP3RT rating table on one test split.

    recsaver exp3rt-report runs/x/prepared/magazine --out runs/x/report/exp3rt.md \\
        --mf runs/x/exp3rt/magazine/mf.json \\
        --exp3rt runs/x/exp3rt/magazine/eval_student_profiles runs/x/exp3rt/magazine/eval_teacher_profiles \\
        --reasoning runs/x/eval/reason/predictions_recsaver_magazine_reason_eval.jsonl

Every row is computed on the SAME examples: those every given source predicted (their count is
printed; an example a source failed to parse is still counted, see `readout`). Baseline rows put
their rounded prediction under "parsed" and their real-valued one under "expected".
"""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (its test split)")
  p.add_argument("--out", required=True, help="markdown file to write")
  p.add_argument("--mf", help="`recsaver mf-baseline` output JSON")
  p.add_argument("--exp3rt", nargs="*", default=[], help="`recsaver exp3rt-evaluate` output dirs")
  p.add_argument("--reasoning", nargs="*", default=[],
                 help="first-study students: `recsaver evaluate` predictions_<task>.jsonl files")
  p.add_argument("--reasoning-labels", default=None, help="comma-separated labels for --reasoning")


def _jsonl(path):
  import json  # pylint: disable=import-outside-toplevel
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import json
  import os
  from recsaver_t5x.data import io as data_io
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.baseline.user_average import round_half_up
  from recsaver_t5x.exp3rt import readout, report
  from recsaver_t5x.exp3rt.corpus import manifest_sources

  scale = manifest_sources(args.prepared)[2]
  test = {ex.example_id: ex for ex in data_io.read_split(args.prepared, "test")}
  sources: list[tuple[str, dict]] = []  # label -> {example_id: (true, parsed, probs|None, real|None)}
  if args.mf:
    with open(args.mf, encoding="utf-8") as f:
      mf = json.load(f)
    sources.append((mf["model"], {p["example_id"]: (p["true_rating"], round_half_up(p["predicted_rating"]),
                                                    None, p["predicted_rating"])
                                  for p in mf["predictions"]}))
  labels = args.reasoning_labels.split(",") if args.reasoning_labels else []
  for i, path in enumerate(args.reasoning):
    rows = {p["example_id"]: (p["true_rating"], p.get("predicted_rating", p.get("rating")),
                              p["probs"] if len(p["probs"]) == len(scale) else None, None)
            for p in _jsonl(path)}
    sources.append((labels[i] if i < len(labels) else f"reasoning student ({os.path.basename(path)})", rows))
  for d in args.exp3rt:
    with open(os.path.join(d, "metrics.json"), encoding="utf-8") as f:
      meta = json.load(f)
    rows = {p["example_id"]: (p["true_rating"], p["parsed"], p["probs"], None)
            for p in _jsonl(os.path.join(d, "predictions.jsonl"))}
    sources.append((f"EXP3RT student ({meta['profiles']} profiles)", rows))
  ids = set(test)
  for _, rows in sources:
    ids &= set(rows)
  if not ids:
    raise UserFacingError("no test example is predicted by every given source")
  ids = sorted(ids)
  y = [test[i].true_rating for i in ids]
  means = [test[i].history_mean_rating() for i in ids]
  table_rows = [report.Row("naive (user average)", {
      "parsed": readout.errors(y, [round_half_up(m) for m in means], scale),
      "expected": readout.errors(y, means, scale)})]
  for label, rows in sources:
    parsed = [rows[i][1] for i in ids]
    cells = {"parsed": readout.errors(y, parsed, scale)}
    if all(rows[i][2] is not None for i in ids):
      probs = [rows[i][2] for i in ids]
      cells["argmax"] = readout.errors(y, [readout.argmax_rating(p, scale) for p in probs], scale)
      cells["expected"] = readout.errors(y, [readout.expected_rating(p, scale) for p in probs], scale)
    elif all(rows[i][3] is not None for i in ids):
      cells["expected"] = readout.errors(y, [rows[i][3] for i in ids], scale)
    table_rows.append(report.Row(label, cells))
  text = (f"## EXP3RT rating prediction ({len(ids)} test examples, ratings "
          f"{scale.low}..{scale.high})\n\n{report.table(table_rows)}\n\n"
          f"Unparsed answers are scored at the scale midpoint "
          f"({readout.midpoint(scale):g}) and counted; n is the same for every row.\n")
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, "w", encoding="utf-8") as f:
    f.write(text)
  print(text)
  return 0
