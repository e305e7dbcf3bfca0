"""`recsaver export --hf`: a model dir (ours or T5X's) as a Hugging Face directory.

    recsaver export --hf --model-dir runs/small --vocabulary runs/tasks.json --out hf/small
    recsaver export --hf --model-dir t5x_run/checkpoint_40 --model-config t5x_run/config.gin \\
        --vocabulary spm.model --out hf/t5x

The result loads with `transformers.T5ForConditionalGeneration.from_pretrained(OUT)` (equal
logits) and `AutoTokenizer.from_pretrained(OUT)` (the SentencePiece vocabulary).
"""
from __future__ import annotations

import argparse
import json
import os

from recsaver_t5x import argtypes, paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "model_dir": (_p.IN_DIR, "model directory"),
    "model_config": (_p.IN_FILE, "model config"),
    "vocabulary": (_p.IN_FILE, "vocabulary"),
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("--hf", action="store_true", required=True,
                 help="write a Hugging Face T5ForConditionalGeneration directory (the only format)")
  p.add_argument("--model-dir", required=True,
                 help="a `recsaver train` or `t5x.train` MODEL_DIR, or one checkpoint_<step> dir")
  p.add_argument("--step", type=argtypes.nonneg_int, help="checkpoint step (default: latest)")
  p.add_argument("--model-config", help="network config (.gin or .json) if MODEL_DIR has none")
  p.add_argument("--gin-search-path", action="append", default=[],
                 help="where --model-config's gin includes are found (repeatable)")
  p.add_argument("--vocabulary", help="the SentencePiece model, or a tasks config JSON whose "
                 "'vocabulary' it is; without it no tokenizer is written")
  p.add_argument("--extra-ids", type=argtypes.nonneg_int, default=None,
                 help="sentinel ids of the tokenizer (default: 100 for Flan-T5's 32000-piece "
                 "vocabulary, else 0, as our seqio tasks)")
  p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
  p.add_argument("--out", required=True, help="output directory")


def _spm_path(vocabulary: str) -> str:
  from recsaver_t5x.errors import InputError  # pylint: disable=import-outside-toplevel
  if not vocabulary.endswith(".json"):
    return vocabulary
  from recsaver_t5x.jsonl import read_json  # pylint: disable=import-outside-toplevel
  cfg = read_json(vocabulary)  # a tasks config (not JSON, not UTF-8: one line naming it)
  spm = cfg.get("vocabulary") if isinstance(cfg, dict) else None
  if not spm:
    raise InputError(vocabulary, "no vocabulary (Flan-T5's default is on GCS: pass the local "
                     "SentencePiece model instead)", field="vocabulary")
  return spm if os.path.isabs(spm) else os.path.join(os.path.dirname(vocabulary), spm)


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.errors import InputError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model import hf_export, model_dir  # pylint: disable=import-outside-toplevel
  spm = _spm_path(args.vocabulary) if args.vocabulary else None
  if spm and not os.path.isfile(spm):
    raise InputError(spm, "SentencePiece model not found")
  config, params, step = model_dir.load_model_dir(args.model_dir, args.step, args.model_config,
                                                  args.gin_search_path)
  summary = hf_export.export_hf(params, config, args.out, spm, args.dtype, args.extra_ids)
  print(json.dumps({"step": step, **summary}, sort_keys=True))
  return 0
