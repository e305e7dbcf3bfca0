"""`recsaver rerank`: a CF retriever's top-N per user, reranked by rating models, ranking metrics.

    recsaver rerank --prepared runs/demo/prepared/digital_music --out runs/demo/rerank/digital_music \\
        --retriever bpr -N 20 --reranker user-average --reranker item-average \\
        --reranker student:reason=runs/demo/train/reason_all --vocabulary runs/demo/tasks/spm.model \\
        --max-users 20

Reads the raw reviews (those a prepared domain's manifest names, or --reviews/--meta), splits
leave-last-out, fits the retriever, and writes rerank.md (tables for the "as retrieved" and
"held-out inserted" protocols, the retriever first), rerank.json and ndcg_at_k.png into --out.
"""
from __future__ import annotations

import argparse
import contextlib
import os

from recsaver_t5x import argtypes, paths as _p
from recsaver_t5x.teacher.options import TEACHER_PATHS, add_teacher_arguments
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "reviews": (_p.IN_FILE, "review file"),
    "meta": (_p.IN_FILE, "metadata file"),
    "exp3rt_dir": (_p.IN_DIR, "EXP3RT directory"),
    "vocabulary": (_p.IN_FILE, "SentencePiece model"),
    "out": (_p.OUT_DIR, "output directory"),
    "store": (_p.OUT_FILE, "sample store"),
    **TEACHER_PATHS,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  src = p.add_argument_group("data")
  src.add_argument("--prepared", help="a prepared domain (its manifest names the raw review/meta files)")
  src.add_argument("--reviews", nargs="+", default=[], help="raw review files (instead of --prepared)")
  src.add_argument("--meta", nargs="+", default=[], help="raw item metadata files")
  src.add_argument("--domain", help="domain name (default: the prepared domain's)")
  src.add_argument("--skip-bad-records", action="store_true")
  p.add_argument("--out", required=True, help="output directory")
  sp = p.add_argument_group("split")
  sp.add_argument("--split-by", default="user", choices=("user", "time"),
                  help="leave-last-out per user, or the first interaction after a time cut-off")
  sp.add_argument("--min-train", type=argtypes.positive_int, default=2, help="training interactions a test user needs")
  sp.add_argument("--time-quantile", type=argtypes.float_in(0.0, 1.0, low_open=True, high_open=True), default=0.9, help="cut-off for --split-by time")
  rt = p.add_argument_group("retriever")
  rt.add_argument("--retriever", default="bpr", choices=("bpr", "als", "lightgcn"))
  rt.add_argument("--factors", type=argtypes.positive_int, default=64)
  rt.add_argument("--iterations", type=argtypes.positive_int, default=100)
  rt.add_argument("--learning-rate", type=argtypes.positive_float, default=0.05)
  rt.add_argument("--regularization", type=argtypes.nonneg_float, default=0.01)
  rt.add_argument("--layers", type=argtypes.positive_int, default=3, help="LightGCN layers")
  rt.add_argument("--threads", type=argtypes.positive_int, default=1, help="retriever threads (1 = deterministic)")
  rt.add_argument("-N", "--candidates", type=argtypes.positive_int, default=20, dest="n", help="candidates per user")
  rr = p.add_argument_group("rerankers")
  rr.add_argument("--reranker", action="append", default=[], metavar="SPEC", type=reranker_spec,
                  help="user-average | item-average | student:[NAME=]MODEL_DIR | "
                       "exp3rt:[NAME=]MODEL_DIR (an EXP3RT student; needs --exp3rt-dir) | "
                       "teacher[:VARIANT] (the teacher zero-shot, one call per candidate; "
                       "VARIANT default no_reasoning) | "
                       "python:MODULE:FUNCTION (a factory taking a RerankContext); repeatable")
  rr.add_argument("--exp3rt-dir", help="the domain's EXP3RT directory (`recsaver preferences` "
                  "output): caps, criterion, budgets and scale the EXP3RT student was trained with")
  rr.add_argument("--vocabulary", help="the students' SentencePiece model (a run's tasks/spm.model)")
  rr.add_argument("--wording", help="prompt wording preset (default: the domain's)")
  rr.add_argument("--targets", default="reason", choices=("reason", "rating"),
                  help="the student's eval prompt: reasoning or rating-only")
  rr.add_argument("--max-prompt-chars", type=argtypes.positive_int, help="prompt character budget (as `recsaver tasks`)")
  rr.add_argument("--max-field-chars", type=argtypes.positive_int, help="per review/description character budget")
  rr.add_argument("--input-length", type=argtypes.positive_int, default=768)
  rr.add_argument("--max-decode-length", type=argtypes.positive_int, default=96)
  rr.add_argument("--batch-size", type=argtypes.positive_int, default=16)
  tr = p.add_argument_group("teacher reranker")
  tr.add_argument("--store", help="teacher sample store (default: OUT/teacher_samples.jsonl)")
  tr.add_argument("--max-tokens", type=argtypes.positive_int, default=64, help="teacher answer length")
  add_teacher_arguments(p, default_logprobs=True)
  ev = p.add_argument_group("evaluation")
  ev.add_argument("--max-users", type=argtypes.positive_int, help="evaluate a seeded sample of test users")
  ev.add_argument("--max-history", type=argtypes.positive_int, default=10, help="training reviews in a prompt")
  ev.add_argument("--ks", default=(1, 5, 10), type=argtypes.int_list(1), help="cut-offs (N is always added)")
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  p.add_argument("--no-progress", action="store_true")


RERANKER_KINDS = ("user-average", "item-average", "student", "exp3rt", "teacher", "python")


def reranker_spec(spec: str) -> str:
  """A `--reranker` value, checked when the command line is parsed (before reading or fitting)."""
  kind, sep, rest = spec.partition(":")
  name, _, target = rest.rpartition("=")
  if kind not in RERANKER_KINDS:
    raise argparse.ArgumentTypeError(
        f"unknown kind '{kind}' in {spec!r} (user-average, item-average, student:..., exp3rt:..., "
        "teacher, python:...)")
  if kind in ("student", "exp3rt") and not target:
    raise argparse.ArgumentTypeError(f"{spec!r}: expected {kind}:[NAME=]MODEL_DIR")
  if kind == "python" and rest.count(":") != 1:
    raise argparse.ArgumentTypeError(f"{spec!r}: expected python:MODULE:FUNCTION")
  if kind in ("user-average", "item-average") and sep:
    raise argparse.ArgumentTypeError(f"{spec!r}: {kind} takes no argument")
  return spec


def _sources(args) -> tuple[str, list[str], list[str]]:
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  if args.prepared:
    if args.reviews:
      raise UserFacingError("give --prepared or --reviews, not both")
    reviews, meta = data_io.manifest_sources(args.prepared)
    return args.domain or data_io.manifest_domain(args.prepared), reviews, meta
  if not args.reviews:
    raise UserFacingError("give --prepared DIR or --reviews FILES")
  if not args.domain:
    raise UserFacingError("--domain is required with --reviews")
  return args.domain, args.reviews, args.meta


def make_rerankers(args, domain: str, split, out_dir: str, reviews=(), meta=(), teacher=None) -> list:
  """The rerankers named by --reranker, in order. `teacher`: (ClientConfig, SampleStore) or None."""
  # pylint: disable=import-outside-toplevel
  import numpy as np
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.prompting import variants
  from recsaver_t5x.rerank import rerankers as rr
  out = []
  for spec in args.reranker:
    kind, _, rest = spec.partition(":")
    if kind == "user-average":
      out.append(rr.UserAverage())
    elif kind == "item-average":
      d, m = split.data, split.train_mask
      out.append(rr.ItemAverage.from_training(d.item_ids[d.item[m]], d.rating[m]))
    elif kind == "student":
      name, _, model_dir = rest.rpartition("=")
      if not model_dir:
        raise UserFacingError(f"--reranker {spec}: expected student:[NAME=]MODEL_DIR")
      if not args.vocabulary:
        raise UserFacingError(f"--reranker {spec}: needs --vocabulary (the run's tasks/spm.model)")
      from recsaver_t5x.rerank.student import StudentReranker
      name = name or os.path.basename(os.path.normpath(model_dir))
      budget = variants.Budget(**{k: v for k, v in (("max_prompt_chars", args.max_prompt_chars),
                                                    ("max_field_chars", args.max_field_chars)) if v})
      out.append(StudentReranker(model_dir, args.vocabulary, os.path.join(out_dir, f"student_{name}"),
                                 domain, wording=args.wording, targets=args.targets,
                                 input_length=args.input_length, max_decode_length=args.max_decode_length,
                                 batch_size=args.batch_size, budget=budget, name=f"student {name}",
                                 progress=not args.no_progress))
    elif kind == "exp3rt":
      name, _, model_dir = rest.rpartition("=")
      if not model_dir or not args.vocabulary or not args.exp3rt_dir:
        raise UserFacingError(f"--reranker {spec}: expected exp3rt:[NAME=]MODEL_DIR with "
                              "--vocabulary and --exp3rt-dir")
      from recsaver_t5x.rerank.exp3rt_reranker import Exp3rtReranker
      d = split.data
      rows = np.flatnonzero(split.train_mask)
      train_keys = zip(d.user_ids[d.user[rows]].tolist(), d.item_ids[d.item[rows]].tolist(),
                       d.ts[rows].tolist())
      name = name or os.path.basename(os.path.normpath(model_dir))
      out.append(Exp3rtReranker(model_dir, args.vocabulary, args.exp3rt_dir, reviews, meta,
                                train_keys, name=f"EXP3RT {name}",
                                input_length=args.input_length,
                                max_decode_length=args.max_decode_length,
                                batch_size=args.batch_size))
    elif kind == "teacher":
      from recsaver_t5x.rerank.teacher_reranker import TeacherReranker
      from recsaver_t5x.teacher.sampler import SamplingConfig
      if teacher is None:
        raise UserFacingError(f"--reranker {spec}: no teacher open")  # main() opens it
      budget = variants.Budget(**{k: v for k, v in (("max_prompt_chars", args.max_prompt_chars),
                                                    ("max_field_chars", args.max_field_chars)) if v})
      config, store = teacher
      out.append(TeacherReranker(config, store, domain, rest or "no_reasoning",
                                 SamplingConfig(max_tokens=args.max_tokens, budget=budget,
                                                logprobs=args.logprobs, base_seed=args.seed),
                                 progress=not args.no_progress))
    elif kind == "python":
      out.append(rr.load_plugin(rest, rr.RerankContext(domain, os.path.join(out_dir, "plugin"),
                                                       options=vars(args))))
    else:
      raise UserFacingError(f"--reranker {spec}: unknown kind '{kind}' "
                            "(user-average, item-average, student:..., exp3rt:..., teacher, python:...)")
  return out


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import dataclasses
  import time
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.rerank import evaluate, interactions, report, retriever, split as split_lib
  t0 = time.time()
  ks = args.ks
  domain, reviews, meta = _sources(args)
  for spec in args.reranker:  # what a reranker needs besides its spec, before reading or fitting
    kind, _, rest = spec.partition(":")
    if kind in ("student", "exp3rt") and not args.vocabulary:
      raise UserFacingError(f"--reranker {spec}: needs --vocabulary (the run's tasks/spm.model)")
    if kind == "exp3rt" and not args.exp3rt_dir:
      raise UserFacingError(f"--reranker {spec}: needs --exp3rt-dir (the domain's EXP3RT directory)")
  progress = not args.no_progress
  data = interactions.read_interactions(reviews, keep_text=bool(args.reranker),
                                        skip_bad=args.skip_bad_records, progress=progress)
  split = split_lib.leave_last_out(data, args.split_by, args.min_train, args.time_quantile)
  items = interactions.read_items(meta, set(data.item_ids), args.skip_bad_records) if meta else {}
  cfg = retriever.RetrieverConfig(kind=args.retriever, factors=args.factors, iterations=args.iterations,
                                  learning_rate=args.learning_rate, regularization=args.regularization,
                                  layers=args.layers, seed=args.seed, threads=args.threads)
  ret = retriever.make_retriever(cfg)
  t_fit = time.time()
  ret.fit(split.train)
  fit_s = time.time() - t_fit
  with contextlib.ExitStack() as stack:
    teacher = None
    if any(s.partition(":")[0] == "teacher" for s in args.reranker):
      from recsaver_t5x.teacher.options import teacher_from_args
      from recsaver_t5x.teacher.store import SampleStore
      os.makedirs(args.out, exist_ok=True)
      store = stack.enter_context(SampleStore(args.store or os.path.join(args.out, "teacher_samples.jsonl")))
      teacher = (stack.enter_context(teacher_from_args(args, log_dir=args.out)), store)
    rerankers = make_rerankers(args, domain, split, args.out, reviews, meta, teacher)
    result = evaluate.evaluate(split, ret, rerankers, items,
                               evaluate.EvalConfig(n=args.n, ks=ks, max_users=args.max_users,
                                                   max_history=args.max_history, seed=args.seed),
                               progress=progress)
  result.update(domain=domain, sources={"reviews": reviews, "meta": meta},
                retriever={"config": dataclasses.asdict(cfg),
                           "fit_seconds": round(fit_s, 3)},
                seconds=round(time.time() - t0, 2))
  paths = report.write(result, args.out)
  print(report.markdown(result))
  print(f"wrote {paths['md']}, {paths['json']}, {paths['png']} in {result['seconds']:.1f} s")
  return 0
