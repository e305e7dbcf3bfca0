"""The `recsaver` command: one subcommand per pipeline stage.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `main(args) -> int`;
heavy imports (TensorFlow, JAX, torch) happen inside `main`, so `recsaver prepare` starts fast.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

# subcommand -> (module, one-line help), in pipeline order. A new stage is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("recsaver_t5x.pipeline.run_cli", "the whole pipeline from a run file into one run directory"),
    "prepare": ("recsaver_t5x.data.prepare_cli", "raw Amazon reviews -> balanced rating-prediction examples"),
    "synth": ("recsaver_t5x.data.synth_cli", "write a synthetic Amazon-2018-format category of any size"),
    "baseline": ("recsaver_t5x.baseline.baseline_cli", "naive user-average baseline table (Table 3 layout)"),
    "zeroshot": ("recsaver_t5x.teacher.zeroshot_cli", "prompt variants over the test split with a teacher LLM (Table 3)"),
    "teacher-serve": ("recsaver_t5x.teacher.serve_cli", "start the embedded llama.cpp teacher server(s) and print the URL"),
    "sample": ("recsaver_t5x.teacher.sample_cli", "M teacher reasoning paths per training example into the sample store"),
    "references": ("recsaver_t5x.recsaver.references_cli", "Rec-SAVER verified references: post-hoc explanations, leakage removal, self-verification"),
    "reasoning-metrics": ("recsaver_t5x.recsaver.reasoning_metrics_cli", "BLEU/ROUGE-1/METEOR/BERTScore of reasoning vs Rec-SAVER references (Table 11)"),
    "alignment": ("recsaver_t5x.recsaver.alignment_cli", "human annotations (+ reasoning metrics) -> agreement and alignment tables 6-9, 13"),
    "preferences": ("recsaver_t5x.exp3rt.preferences_cli", "EXP3RT: select profile reviews and extract their [Like]/[Dislike] preferences"),
    "profiles": ("recsaver_t5x.exp3rt.profiles_cli", "EXP3RT: user and item profiles from the extracted preferences"),
    "exp3rt-rationales": ("recsaver_t5x.exp3rt.rationales_cli", "EXP3RT: rating-conditioned rationales, leakage filter and self-verification"),
    "exp3rt-evaluate": ("recsaver_t5x.exp3rt.evaluate_cli", "EXP3RT: chained student inference (own or teacher profiles), parsed/argmax/expected RMSE and MAE"),
    "mf-baseline": ("recsaver_t5x.exp3rt.mf_cli", "matrix-factorisation rating baseline (cornac MF) on a prepared split"),
    "exp3rt-report": ("recsaver_t5x.exp3rt.report_cli", "the EXP3RT rating table: naive, MF, reasoning student, EXP3RT student"),
    "tasks": ("recsaver_t5x.pipeline.tasks_cli", "offline SentencePiece vocabulary and the SeqIO tasks config (tasks.json) for training"),
    "train": ("recsaver_t5x.trainer.train_cli", "fine-tune/resume a T5 student on SeqIO tasks (gin, T5X macro names)"),
    "evaluate": ("recsaver_t5x.trainer.evaluate_cli", "decode a split with a trained student: predictions, rating metrics, AUC"),
    "rerank": ("recsaver_t5x.rerank.rerank_cli", "top-N from a CF retriever, reranked by rating models: Recall/NDCG/MRR, plot"),
    "export": ("recsaver_t5x.model.export_cli", "a student (ours or T5X's) as a Hugging Face directory with its tokenizer (--hf)"),
    "report": ("recsaver_t5x.report.report_cli", "report (tables, plots, examples) of one or several run dirs"),
    "serve": ("recsaver_t5x.serve.serve_cli", "serve a trained student as an OpenAI-compatible HTTP endpoint (dynamic batching)"),
    "annotate": ("recsaver_t5x.annotate.annotate_cli", "web page for the human study: raters judge reasoning texts -> `recsaver alignment` input"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
  """Lists every subcommand, but imports only the module of the one being run."""
  parser = argparse.ArgumentParser(prog="recsaver", description=__doc__.splitlines()[0])
  sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
  chosen = next((a for a in argv if not a.startswith("-")), None)
  for name, (module, help_text) in COMMANDS.items():
    p = sub.add_parser(name, help=help_text, description=help_text)
    if name == chosen:
      mod = importlib.import_module(module)
      mod.add_arguments(p)
      kebab_case_flags(p)
      p.set_defaults(_main=mod.main, _paths=getattr(mod, "PATHS", {}))
  return parser


def kebab_case_flags(parser: argparse.ArgumentParser) -> None:
  """One flag style: every `--snake_case` option also gets (and is listed as) `--kebab-case`.

  The snake spelling stays accepted for one release (`--gin_file`/`--gin_search_path` keep it as
  T5X's spelling; `--gin.KEY=VALUE` bindings are T5X's and untouched).
  """
  # pylint: disable=protected-access  (argparse has no public way to add a spelling afterwards)
  for action in parser._actions:
    for flag in list(action.option_strings):
      kebab = flag.replace("_", "-")
      if flag.startswith("--") and kebab != flag and kebab not in parser._option_string_actions:
        action.option_strings.insert(0, kebab)
        parser._option_string_actions[kebab] = action


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  args = build_parser(argv).parse_args(argv)
  from recsaver_t5x import errors, paths  # pylint: disable=import-outside-toplevel
  try:
    # Path arguments by their declared roles (inputs exist, outputs writable, no output is an
    # input), before any work of the command.
    paths.check_declared(args, args._paths)
    return int(args._main(args) or 0)
  except (errors.UserFacingError, OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    # One clear line naming file/line/field (or the path of a file-system error); no traceback.
    print(f"recsaver {args.command}: error: {errors.one_line(e)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
