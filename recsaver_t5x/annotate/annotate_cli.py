"""`recsaver annotate`: the human study as a web page, one link per rater.

    recsaver annotate runs/demo --annotators 3 --items 40
    recsaver annotate eval/a/predictions_t.jsonl eval/b/predictions_t.jsonl \\
        --examples prepared/beauty/test.jsonl --annotators 2 --items 20 --out study

Samples K items (balanced over models and correct/incorrect predictions), gives every rater all
of them in their own random order, and serves the page on 127.0.0.1 until Ctrl-C. Answers land
in OUT/annotations.jsonl at once (the input of `recsaver alignment`); running the same command
again resumes the same study (same items, links and answers).
"""
from __future__ import annotations

import argparse
import os
import sys

from recsaver_t5x import argtypes, paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "inputs": (_p.IN_ANY, "run directory or predictions file"),
    "examples": (_p.IN_ANY, "examples file or prepared directory"),
    "out": (_p.OUT_DIR, "study directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("inputs", nargs="+", help="run dir(s) (eval/<student>/predictions_*.jsonl and "
                                           "prepared/) or predictions files")
  p.add_argument("--annotators", type=argtypes.positive_int, default=3, help="number of raters (links)")
  p.add_argument("--rater-names", help="comma-separated rater names (default rater1..N)")
  p.add_argument("--items", type=argtypes.positive_int, default=40, help="items every rater judges")
  p.add_argument("--examples", action="append", default=[],
                 help="prepared examples (.jsonl or a prepared dir) for predictions files")
  p.add_argument("--out", help="study directory (default: RUN_DIR/annotate, or ./annotate)")
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
  p.add_argument("--port", type=argtypes.port, default=8765, help="port (0: a free one)")
  p.add_argument("--no-serve", action="store_true", help="create/resume the study, print the "
                                                         "links and exit")


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.annotate import items as items_lib
  from recsaver_t5x.annotate.study import STUDY_FILE, Study
  from recsaver_t5x.errors import UserFacingError
  if args.annotators < 1 or args.items < 1:
    raise UserFacingError("--annotators and --items must be >= 1")
  raters = ([r.strip() for r in args.rater_names.split(",") if r.strip()] if args.rater_names
            else [f"rater{i + 1}" for i in range(args.annotators)])
  if len(set(raters)) != len(raters) or (args.rater_names and len(raters) != args.annotators):
    raise UserFacingError(f"--rater-names: need {args.annotators} distinct names, got {raters}")
  out = args.out or (os.path.join(args.inputs[0], "annotate") if os.path.isdir(args.inputs[0])
                     else "annotate")
  items = None
  if not os.path.exists(os.path.join(out, STUDY_FILE)):
    preds, example_files = items_lib.find_inputs(args.inputs)
    examples = items_lib.load_examples(example_files + args.examples)
    pool = items_lib.candidates(preds, examples)
    items = items_lib.sample_items(pool, args.items, args.seed)
  study = Study.create_or_open(out, items, raters, args.seed)
  if len(study.items) != args.items:
    print(f"resuming {out}: it has {len(study.items)} items (--items {args.items} ignored)",
          file=sys.stderr)
  strata: dict = {}
  for it in study.items.values():
    strata[(it.model, "correct" if it.correct else "incorrect")] = strata.get(
        (it.model, "correct" if it.correct else "incorrect"), 0) + 1
  print(f"study {out}: {len(study.items)} items "
        f"({', '.join(f'{m} {c}: {n}' for (m, c), n in sorted(strata.items()))}); answers -> "
        f"{study.annotations_path}", file=sys.stderr)
  if args.no_serve:
    _print_links(study, f"http://{args.host}:{args.port}")
    return 0
  return _serve(study, args)


def _print_links(study, base: str) -> None:
  for r in study.data["raters"]:
    p = next(x for x in study.progress() if x["rater"] == r["name"])
    print(f"{r['name']}: {base}/r/{r['token']}  ({p['done']}/{p['total']} done)", flush=True)
  print(f"organiser: {base}/admin/{study.data['organiser_token']}", flush=True)


def _serve(study, args) -> int:
  import signal  # pylint: disable=import-outside-toplevel
  import threading  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  import uvicorn  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.annotate.app import create_app  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.serve import listen  # pylint: disable=import-outside-toplevel
  if not listen.is_loopback(args.host):
    print(f"recsaver annotate: binding {args.host}: the links work beyond this machine",
          file=sys.stderr)
  sock = listen.bind(args.host, args.port)
  port = sock.getsockname()[1]
  server = uvicorn.Server(uvicorn.Config(create_app(study), log_level="warning", access_log=False))

  def announce():
    while not server.started and not server.should_exit:
      time.sleep(0.05)
    if server.started:
      _print_links(study, f"http://{args.host}:{port}")
      print("Ctrl-C stops (answers are already saved)", file=sys.stderr, flush=True)

  threading.Thread(target=announce, daemon=True).start()
  for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises them after a clean stop
    signal.signal(sig, lambda *_: None)
  server.run(sockets=[sock])
  return 0
