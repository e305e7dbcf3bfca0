"""`recsaver evaluate`: decode a split with a trained student and score its ratings.

    recsaver evaluate --model-dir runs/small --tasks-config runs/tasks.json \\
        --task recsaver_beauty_reason_eval
    recsaver evaluate --compare runs/*/eval_*/metrics.json     # Table 4/5 layout, one row each

Writes predictions_<task>.jsonl, metrics.json and metrics.md into --output-dir
(default MODEL_DIR/eval_<step>); rerunning continues where a killed run stopped.
"""
from __future__ import annotations

import argparse
import json
import os
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "compare": (_p.IN_FILE, "metrics file"),
    "model_dir": (_p.IN_DIR, "model directory"),
    "model_config": (_p.IN_FILE, "model config"),
    "tasks_config": (_p.IN_FILE, "tasks config"),
    "references": (_p.IN_FILE, "references file"),
    "output_dir": (_p.OUT_DIR, "output directory"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--model_dir", help="a `recsaver train` or `t5x.train` MODEL_DIR (legacy "
                      "or orbax checkpoints), or one checkpoint_<step> directory")
  parser.add_argument("--model-config", "--model_config", dest="model_config",
                      help="the network: a T5X gin file (e.g. the run's config.gin) or a JSON "
                      "config (ours, a HF config.json); default: config.json or config.gin in "
                      "MODEL_DIR")
  parser.add_argument("--gin_search_path", action="append", default=[],
                      help="where --model-config's gin includes are found (repeatable; e.g. a "
                      "T5X source checkout)")
  parser.add_argument("--task", help="eval task or mixture, e.g. recsaver_beauty_reason_eval")
  parser.add_argument("--tasks_config", help="seqio_tasks JSON config registering the domains")
  parser.add_argument("--task_module", action="append", default=[],
                      help="python module registering tasks on import (repeatable)")
  parser.add_argument("--split", default="test", help="task split (default: test)")
  parser.add_argument("--step", type=argtypes.nonneg_int, help="checkpoint step (default: latest)")
  parser.add_argument("--output_dir", help="default: MODEL_DIR/eval_<step> "
                      "(MODEL_DIR/eval_<step>_beam<K> with --decode beam:K)")
  parser.add_argument("--batch_size", type=argtypes.positive_int, default=16)
  parser.add_argument("--input_length", type=argtypes.positive_int, default=2048)
  parser.add_argument("--max_decode_length", type=argtypes.positive_int, default=512)
  parser.add_argument("--decode", default="greedy", type=argtypes.checked(_decode),
                      help="decode function: 'greedy' (default) or 'beam:K' (T5X's beam search, "
                      "K beams); T5X runs choose it with gin DECODE_FN (gin/t5x/rating_model.gin)")
  parser.add_argument("--label", help="row label of the metrics table")
  parser.add_argument("--references", help="verified references (`recsaver references` output): "
                      "also score the decoded reasoning (BLEU, ROUGE-1, METEOR, BERTScore)")
  parser.add_argument("--reasoning_metrics", default="bleu,rouge1_f1,meteor,bertscore_f1",
                      help="which reasoning metrics (comma-separated)")
  parser.add_argument("--bertscore_model", default="auto",
                      help="BERTScore model (see `recsaver reasoning-metrics --help`)")
  parser.add_argument("--unparsed", default="exclude", type=argtypes.checked(_unparsed),
                      help="how a decode without a parsable rating counts: 'exclude', "
                      "'fallback:K', or 'distribution' (the most probable rating token after "
                      "the appended marker); always reported in the tables")
  parser.add_argument("--compare", nargs="+", metavar="METRICS_JSON",
                      help="print one table from several metrics.json files and exit")
  parser.add_argument("--labels", help="comma-separated row labels for --compare")


def _decode(spec: str):
  from recsaver_t5x.trainer.decode_choice import parse_decode  # pylint: disable=import-outside-toplevel
  return parse_decode(spec)


def _unparsed(spec: str):
  from recsaver_t5x.eval.rating_metrics import check_unparsed_policy  # pylint: disable=import-outside-toplevel
  return check_unparsed_policy(spec)


def main(args: argparse.Namespace) -> int:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.trainer import evaluate_lib  # pylint: disable=import-outside-toplevel
  if args.compare:
    labels = args.labels.split(",") if args.labels else None
    if labels is not None and len(labels) != len(args.compare):
      raise UserFacingError(f"--labels: {len(labels)} label(s) for {len(args.compare)} metrics files")
    print(evaluate_lib.comparison_table(args.compare, labels))
    return 0
  if not args.model_dir or not args.task:
    raise UserFacingError("--model_dir and --task are required (or --compare FILES)")
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.set_visible_devices([], "GPU")
  from recsaver_t5x.trainer import data  # pylint: disable=import-outside-toplevel
  data.register_tasks(args.tasks_config, args.task_module)
  results = evaluate_lib.evaluate(
      args.model_dir, args.task, output_dir=args.output_dir, split=args.split, step=args.step,
      input_length=args.input_length, max_decode_length=args.max_decode_length,
      batch_size=args.batch_size, label=args.label, references=args.references,
      scorer_config=_scorer_config(args) if args.references else None,
      unparsed=args.unparsed, model_config=args.model_config,
      gin_search_paths=args.gin_search_path, decode=args.decode)
  print(json.dumps(results, sort_keys=True, default=float))
  return 0


def _scorer_config(args):
  from recsaver_t5x.eval.reasoning_metrics import ScorerConfig  # pylint: disable=import-outside-toplevel
  return ScorerConfig(metrics=tuple(m.strip() for m in args.reasoning_metrics.split(",") if m.strip()),
                      bertscore_model=args.bertscore_model)
