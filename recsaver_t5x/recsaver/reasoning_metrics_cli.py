"""`recsaver reasoning-metrics`: BLEU, ROUGE-1, METEOR, BERTScore of reasoning texts against
Rec-SAVER references, per candidate and averaged, with the correct/incorrect breakdown."""
from __future__ import annotations

import argparse
import json
import os
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p

CANDIDATE_TEXT_FIELDS = ("text", "reasoning", "prediction", "output")


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "references": (_p.IN_FILE, "references file"),
    "candidates": (_p.IN_FILE, "candidates file"),
    "store": (_p.IN_FILE, "sample store"),
    "out": (_p.OUT_DIR, "output directory"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("--references", required=True, nargs="+",
                 help="references JSONL file(s) from `recsaver references` (e.g. one per domain)")
  src = p.add_mutually_exclusive_group(required=True)
  src.add_argument("--candidates", nargs="+", help="JSONL file(s): example_id, text (or reasoning/prediction/output) "
                                        "[, predicted_rating, rating, sample_index]; a text in "
                                        "the '### Reason ### ... ### Rating ###' format is parsed")
  src.add_argument("--store", help="score teacher answers from a sample store instead")
  p.add_argument("--variant", default="reasoning", help="with --store: the prompt variant")
  p.add_argument("--unverified", action="store_true",
                 help="score against every cleaned explanation, not only the verified ones "
                      "(the 'without verification' side of Table 9)")
  p.add_argument("--metrics", default="bleu,rouge1_f1,meteor,bertscore_f1")
  p.add_argument("--bertscore-model", default="auto",
                 help="auto: roberta-large (layer 17) if in the local HF cache, else the packaged "
                      "all-MiniLM-L6-v2; minilm; a local model directory; or a cached hub id")
  p.add_argument("--bertscore-layers", type=argtypes.positive_int, default=None)
  p.add_argument("--batch-size", type=argtypes.positive_int, default=None,
                 help="BERTScore batch size (default 8 on CPU, 64 on an accelerator)")
  p.add_argument("--torch-threads", type=argtypes.positive_int, default=None)
  p.add_argument("--out", help="write reasoning_metrics.jsonl (per candidate), .md and .json here")


def _candidates_from_file(path: str, ratings: dict[str, int]):
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x import shapes
  from recsaver_t5x.errors import InputError
  from recsaver_t5x.answer import parse_answer
  from recsaver_t5x.eval.reasoning_metrics import Candidate
  from recsaver_t5x.data.io import iter_json_objects
  out = []
  for n, obj in iter_json_objects(path):
    if "example_id" not in obj:
      raise InputError(path, "each line must be an object with an example_id", line=n,
                       field="example_id")
    field = next((k for k in CANDIDATE_TEXT_FIELDS if isinstance(obj.get(k), str)), None)
    if field is None:
      raise InputError(path, f"no candidate text (one of {', '.join(CANDIDATE_TEXT_FIELDS)})",
                       line=n, field="text")
    parsed = parse_answer(obj[field])
    eid = str(obj["example_id"])
    if "true_rating" in obj:  # `recsaver evaluate` predictions: "rating" is the PREDICTED one
      true = ("true_rating", obj["true_rating"])
      pred = next(((k, obj[k]) for k in ("predicted_rating", "rating") if k in obj),
                  ("text", parsed.rating))
    else:
      true = ("rating", obj["rating"]) if "rating" in obj else ("references", ratings.get(eid))
      pred = ("predicted_rating", obj["predicted_rating"]) if "predicted_rating" in obj \
          else ("text", parsed.rating)
    # An unparsed prediction (null) is kept and counted; anything else must be a rating.
    true_rating, pred_rating = (None if v is None else shapes.as_int(path, k, v, line=n)
                                for k, v in (true, pred))
    index = shapes.as_int(path, "sample_index", obj.get("sample_index", 0), low=0, line=n)
    out.append(Candidate(eid, obj[field], true_rating, pred_rating, index))
  return out


def _candidates_from_store(path: str, variant: str, ratings: dict[str, int]):
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.answer import parse_answer
  from recsaver_t5x.eval.reasoning_metrics import Candidate
  from recsaver_t5x.teacher.store import SampleStore
  store = SampleStore(path, readonly=True)
  out = []
  for s in store.select(variant=variant):
    out.append(Candidate(s.key.example_id, s.text, ratings.get(s.key.example_id),
                         parse_answer(s.text).rating, s.key.sample_index))
  return out


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import InputError, UserFacingError
  from recsaver_t5x.eval import reasoning_metrics as rmx
  from recsaver_t5x.eval.references_file import load_ratings, load_references

  references, ratings = {}, {}
  for path in args.references:
    these = load_references(path, verified=not args.unverified)
    if not these:
      raise InputError(path, "no reference records (an empty file?); run `recsaver references`")
    references.update(these)
    ratings.update(load_ratings(path))
  if args.candidates:
    candidates = [c for path in args.candidates for c in _candidates_from_file(path, ratings)]
  else:
    candidates = _candidates_from_store(args.store, args.variant, ratings)
  if not candidates:
    raise UserFacingError("no candidates to score")
  unknown = sorted({c.example_id for c in candidates} - set(references))
  scorer = rmx.ReasoningScorer(rmx.ScorerConfig(
      metrics=tuple(m.strip() for m in args.metrics.split(",") if m.strip()),
      bertscore_model=args.bertscore_model, bertscore_layers=args.bertscore_layers,
      batch_size=args.batch_size, torch_threads=args.torch_threads))
  report = rmx.reasoning_report(candidates, references, scorer, progress=True)
  kind = "unverified (every cleaned explanation)" if args.unverified else "self-verified"
  print(f"Reasoning metrics of {len(candidates)} candidates against {kind} references "
        f"({', '.join(args.references)})")
  if unknown:
    print(f"{len(unknown)} candidate example ids are not in the references file (counted as "
          f"without references): {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
  table = report.table()
  print(table)
  if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "reasoning_metrics.jsonl"), "w", encoding="utf-8") as f:
      for row in report.rows:
        d = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.to_dict().items()}
        f.write(json.dumps(d) + "\n")
    with open(os.path.join(args.out, "reasoning_metrics.md"), "w", encoding="utf-8") as f:
      f.write(table + "\n")
    summary = {g: {k: (None if v != v else v) for k, v in d.items()}
               for g, d in report.summary().items()}
    with open(os.path.join(args.out, "reasoning_metrics.json"), "w", encoding="utf-8") as f:
      json.dump({"bertscore_model": report.bertscore_model, "references": args.references,
                 "verified_references": not args.unverified, "summary": summary,
                 "examples_without_references": sorted(set(report.no_references))}, f, indent=1)
  return 0
