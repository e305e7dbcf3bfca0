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
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_FILE, "output file"),
    "mf": (_p.IN_FILE, "mf-baseline output"),
    "exp3rt": (_p.IN_DIR, "exp3rt-evaluate output directory"),
    "reasoning": (_p.IN_FILE, "predictions file"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory (its test split)")
  p.add_argument("--out", required=True, help="markdown file to write")
  p.add_argument("--mf", help="`recsaver mf-baseline` output JSON")
  p.add_argument("--exp3rt", nargs="*", default=[], help="`recsaver exp3rt-evaluate` output dirs")
  p.add_argument("--reasoning", nargs="*", default=[],
                 help="first-study students: `recsaver evaluate` predictions_<task>.jsonl files")
  p.add_argument("--reasoning-labels", default=None, help="comma-separated labels for --reasoning")


def _rows(path: str, row, scale, parsed_field: str) -> dict:
  """{example_id: row(record)} of a JSONL predictions file: (true, parsed, probs, real); a bad
  record names its line and field."""
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x import shapes
  from recsaver_t5x.jsonl import iter_json_objects
  out = {}
  for line, p in iter_json_objects(path):
    with shapes.reading(path, line):
      r = row(p)
      if r[1] is not None:  # an unparsed answer is None (and counted by the read-out)
        shapes.as_rating(path, parsed_field, r[1], scale, line=line)
      if r[2] is not None:
        shapes.as_list(path, "probs", r[2], float, line=line)
      out[shapes.as_str(path, "example_id", p["example_id"], line=line)] = r
  return out


def _number(path: str, field: str, value, line=None) -> float:
  from recsaver_t5x.errors import InputError  # pylint: disable=import-outside-toplevel
  if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
    raise InputError(path, f"must be a number, got {value!r}", line=line, field=field)
  return value


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import os
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.baseline.user_average import round_half_up
  from recsaver_t5x.exp3rt import readout, report
  from recsaver_t5x import shapes
  from recsaver_t5x.exp3rt.corpus import manifest_sources
  from recsaver_t5x.jsonl import read_json_object

  scale = manifest_sources(args.prepared)[2]
  test = {ex.example_id: ex for ex in data_io.read_split(args.prepared, "test")}
  sources: list[tuple[str, dict]] = []  # label -> {example_id: (true, parsed, probs|None, real|None)}
  if args.mf:
    mf = read_json_object(args.mf)
    rows = {}
    for i, p in enumerate(shapes.as_list(args.mf, "predictions", mf.get("predictions"), dict)):
      with shapes.reading(args.mf, field=f"predictions[{i}]"):
        real = _number(args.mf, f"predictions[{i}].predicted_rating", p["predicted_rating"])
        rows[p["example_id"]] = (p["true_rating"], round_half_up(real), None, real)
    sources.append((shapes.as_str(args.mf, "model", mf.get("model")), rows))
  labels = args.reasoning_labels.split(",") if args.reasoning_labels else []
  for i, path in enumerate(args.reasoning):
    rows = _rows(path, lambda p: (p["true_rating"], p.get("predicted_rating", p.get("rating")),
                                  p["probs"] if len(p["probs"]) == len(scale) else None, None),
                 scale, "predicted_rating")
    sources.append((labels[i] if i < len(labels) else f"reasoning student ({os.path.basename(path)})", rows))
  for d in args.exp3rt:
    meta_path = os.path.join(d, "metrics.json")
    meta = read_json_object(meta_path)
    rows = _rows(os.path.join(d, "predictions.jsonl"),
                 lambda p: (p["true_rating"], p["parsed"], p["probs"], None), scale, "parsed")
    sources.append((f"EXP3RT student ({shapes.as_str(meta_path, 'profiles', meta.get('profiles'))} "
                    "profiles)", rows))
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
