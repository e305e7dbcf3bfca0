"""`recsaver exp3rt-evaluate`: chained inference of a trained student on the test split.

    recsaver exp3rt-evaluate runs/x/prepared/magazine --out runs/x/exp3rt/magazine \\
        --model-dir runs/x/train/exp3rt --vocabulary runs/x/tasks/spm.model [--teacher-profiles]

Writes <output-dir>/predictions.jsonl, metrics.json (RMSE/MAE of the parsed, argmax and expected
read-outs; every example counted) and metrics.md; default output dir:
<out>/eval_<student|teacher>_profiles.
"""
from __future__ import annotations

import argparse

from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.IN_DIR, "EXP3RT directory"),
    "model_dir": (_p.IN_DIR, "model directory"),
    "vocabulary": (_p.IN_FILE, "SentencePiece model"),
    "output_dir": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory")
  p.add_argument("--out", required=True, help="the domain's EXP3RT directory")
  p.add_argument("--model-dir", required=True, help="a `recsaver train` MODEL_DIR")
  p.add_argument("--vocabulary", required=True, help="the SentencePiece model the student uses")
  p.add_argument("--split", default="test", choices=("train", "test"))
  p.add_argument("--teacher-profiles", action="store_true",
                 help="ablation: the teacher's profiles instead of the student's own")
  p.add_argument("--limit", type=argtypes.positive_int, default=None, help="only the first N examples")
  p.add_argument("--step", type=argtypes.nonneg_int, default=None)
  p.add_argument("--output-dir", default=None)
  p.add_argument("--input-length", type=argtypes.positive_int, default=1024)
  p.add_argument("--max-decode-length", type=argtypes.positive_int, default=128)
  p.add_argument("--batch-size", type=argtypes.positive_int, default=8)
  p.add_argument("--embedding-model", default=None)
  p.add_argument("--label", default=None, help="row label in metrics.md")


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import functools
  import json
  import os
  import time
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from recsaver_t5x.exp3rt import chain, embed, prompts, report, selection, workdir
  from recsaver_t5x.exp3rt.student import Student
  from recsaver_t5x.model.vocab import get_vocabulary
  from recsaver_t5x.scale import RatingScale
  from recsaver_t5x.trainer.evaluate_lib import load_model

  cfg = workdir.read_config(args.out)
  scale = RatingScale.from_dict(cfg["scale"])
  sels = [selection.Selection.from_dict(d) for d in
          workdir.read_jsonl(workdir.path(args.out, workdir.SELECTION), "preferences")]
  sels = [s for s in sels if s.split == args.split][:args.limit]
  items = {ex.target.asin: ex.target for s in ("train", "test")
           for ex in data_io.read_split(args.prepared, s)}
  inp = chain.ChainInputs(
      sels, {d["review_id"]: d for d in workdir.read_jsonl(
          workdir.path(args.out, workdir.PREFERENCES), "preferences")},
      {d["example_id"]: d for d in workdir.read_jsonl(
          workdir.path(args.out, workdir.PROFILES), "profiles")},
      items, selection.SelectionConfig(**cfg["selection"]), prompts.domain_wording(cfg["domain"]),
      prompts.PromptBudget(**cfg["budget"]), scale)
  config, params, step = load_model(args.model_dir, args.step)
  student = Student(config, params, get_vocabulary(args.vocabulary), args.input_length,
                    args.max_decode_length, args.batch_size)
  t0 = time.perf_counter()
  preds = chain.predict(student, inp, args.teacher_profiles,
                        functools.partial(embed.embed, path=args.embedding_model))
  seconds = time.perf_counter() - t0
  mode = "teacher" if args.teacher_profiles else "student"
  out_dir = args.output_dir or os.path.join(args.out, f"eval_{mode}_profiles")
  workdir.write_jsonl(os.path.join(out_dir, "predictions.jsonl"), preds)
  metrics = chain.metrics(preds, scale)
  saved = {"model_dir": os.path.abspath(args.model_dir), "step": step, "split": args.split,
           "profiles": mode, "scale": scale.to_dict(), "metrics": metrics,
           "seconds": round(seconds, 3), "seconds_per_example": round(seconds / max(1, len(preds)), 4),
           "decode_calls": student.decode_calls, "decoded_sequences": student.decode_rows}
  from recsaver_t5x.data.io import write_json_atomic
  write_json_atomic(os.path.join(out_dir, "metrics.json"), saved)
  label = args.label or f"EXP3RT student ({mode} profiles)"
  with open(os.path.join(out_dir, "metrics.md"), "w", encoding="utf-8") as f:
    f.write(report.table([report.Row.from_readouts(label, metrics)]) + "\n")
  print(json.dumps({k: v for k, v in saved.items() if k != "model_dir"}, default=float))
  return 0
