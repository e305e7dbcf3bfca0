"""Benchmark the reasoning metrics: batched implementation vs a naive per-pair loop.

Both sides use the same libraries and the same loaded models (sacrebleu, rouge-score, nltk
METEOR with WordNet 3.0, bert-score with the offline all-MiniLM-L6-v2 unless told otherwise),
in the same process, on the same inputs; model loading is done before timing, and both sides
are warmed up on 4 other candidates before each metric is timed.

- batched: `ReasoningScorer.score` (one bert-score call per chunk, each distinct sentence
  embedded once; METEOR stems and WordNet look-ups memoised; references tokenised once).
- naive: for every (candidate, reference) pair, one library call per metric, then the max over
  references (for BLEU, whose multi-reference score is not a max of single-reference scores, one
  `sacrebleu.sentence_bleu(candidate, references)` call per candidate).

Texts are real Amazon reviews (the shared All_Beauty, Digital_Music and Movies_and_TV files),
cut to reasoning length. Two cases, 500 candidates x 5 references each:
  distinct: every candidate has its own 5 references (3,000 distinct texts);
  shared:   125 examples x 4 candidates (M=4 samples) sharing their example's 5 references.
The two sides are timed block by block, interleaved (load from other processes falls on both
alike), as wall time and as process CPU time. The script checks that both sides give the same
numbers, then prints the times and ratios.

  .venv/bin/python benchmarks/reasoning_metrics_bench.py [--candidates 500] [--cases distinct,shared]

Measured on the 2-core development VM (shared with other jobs), torch 1 thread, BERTScore with
all-MiniLM-L6-v2 layer 6, 500 x 5, identical numbers on both sides (BERTScore within 2e-7):
  distinct: naive 301.8 s, batched 178.8 s wall -> 1.69x (CPU 231.8 s vs 129.5 s, 1.79x)
  shared:   naive 235.1 s, batched  50.1 s wall -> 4.70x (CPU 231.6 s vs  49.4 s, 4.69x)
BERTScore dominates; its gain is bounded by the distinct sentences embedded (3,000 vs 5,000
embeddings when nothing is shared; 1,125 vs 5,000 with 4 candidates per example).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import pathlib
import random
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
AMAZON = pathlib.Path(os.environ.get("RECSAVER_SHARED", REPO.parent / "shared")) / "data" / "amazon"

from recsaver_t5x.eval import reasoning_metrics as rmx  # pylint: disable=wrong-import-position

N_REFS = 5


def load_texts(max_chars: int) -> list[str]:
  """Distinct real review texts of at least 20 words, cut to `max_chars` at a word boundary.

  All_Beauty first, then Digital_Music and Movies_and_TV (the beauty file alone has ~900).
  """
  paths = [AMAZON / "all_beauty" / "All_Beauty_5.json.gz"]
  paths += sorted((AMAZON / "digital_music").glob("reviews_*.json.gz"))
  paths += sorted((AMAZON / "movies_and_tv").glob("*.json.gz"))
  seen, out = set(), []
  for path in paths:
    with gzip.open(path, "rt", encoding="utf-8") as f:
      for line in f:
        try:
          text = " ".join((json.loads(line).get("reviewText") or "").split())
        except (ValueError, AttributeError):
          continue  # a non-record line (e.g. array brackets)
        if len(text.split()) < 20:
          continue
        if len(text) > max_chars:
          text = text[:max_chars].rsplit(" ", 1)[0]
        if text not in seen:
          seen.add(text)
          out.append(text)
  return out


def make_case(name: str, texts: list[str], n_candidates: int, seed: int = 0):
  rng = random.Random(seed)
  pool = texts[:]
  rng.shuffle(pool)
  if name == "distinct":
    per_example = 1
  elif name == "shared":
    per_example = 4
  else:
    raise SystemExit(f"unknown case {name}")
  n_examples = n_candidates // per_example
  need = n_examples * (per_example + N_REFS)
  if need > len(pool):
    raise SystemExit(f"case {name} needs {need} distinct texts, the data have {len(pool)}")
  it = iter(pool)
  candidates, references = [], {}
  for e in range(n_examples):
    eid = f"{name}{e}"
    references[eid] = [next(it) for _ in range(N_REFS)]
    for m in range(per_example):
      candidates.append(rmx.Candidate(eid, next(it), sample_index=m))
  return candidates, references


def naive(metric: str, candidates, references, bert_scorer, rouge) -> tuple[list[float], float]:
  """The per-pair loop; returns (scores, seconds)."""
  import sacrebleu
  from nltk.translate.meteor_score import meteor_score
  t0 = time.perf_counter()
  out = []
  for c in candidates:
    refs = references[c.example_id]
    if metric == "bleu":
      out.append(sacrebleu.sentence_bleu(c.text, refs).score / 100)
    elif metric == "rouge1_f1":
      out.append(max(rouge.score(r, c.text)["rouge1"].fmeasure for r in refs))
    elif metric == "meteor":
      out.append(max(meteor_score([rmx.tokenize(r)], rmx.tokenize(c.text)) for r in refs))
    else:
      out.append(max(float(bert_scorer.score([c.text], [r])[2][0]) for r in refs))
  return out, time.perf_counter() - t0


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--candidates", type=int, default=500)
  ap.add_argument("--cases", default="distinct,shared")
  ap.add_argument("--metrics", default=",".join(rmx.METRICS))
  ap.add_argument("--max-chars", type=int, default=600, help="text length cap (reasoning-sized)")
  ap.add_argument("--bertscore-model", default="minilm")
  ap.add_argument("--torch-threads", type=int, default=1,
                  help="torch threads for both sides (0: torch's default); 1 is fastest on a "
                       "small shared CPU")
  ap.add_argument("--block", type=int, default=100,
                  help="candidates per interleaved timing block (a multiple of 4 keeps the "
                       "shared case's examples whole)")
  ap.add_argument("--json", help="also write the results here")
  args = ap.parse_args()
  import torch
  from rouge_score import rouge_scorer

  metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
  if args.torch_threads:
    torch.set_num_threads(args.torch_threads)  # both sides run under the same setting
  texts = load_texts(args.max_chars)
  # One scorer per metric so that each metric is timed alone; models loaded before timing.
  scorers = {m: rmx.ReasoningScorer(rmx.ScorerConfig(metrics=(m,),
                                                     bertscore_model=args.bertscore_model))
             for m in metrics}
  bert = None
  if "bertscore_f1" in metrics:
    bert = scorers["bertscore_f1"]._ensure_bert()  # pylint: disable=protected-access
    bert.score(["warm up"], ["warm up the model"])
  rouge = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
  if "meteor" in metrics:
    rmx.load_wordnet()
  print(f"reasoning metrics benchmark: {args.candidates} candidates x {N_REFS} references, "
        f"torch threads {torch.get_num_threads()}, os.cpu_count() {os.cpu_count()}, "
        f"BERTScore model: {scorers['bertscore_f1'].bertscore_model if bert else '-'}")
  results = []
  for case in [c.strip() for c in args.cases.split(",") if c.strip()]:
    candidates, references = make_case(case, texts, args.candidates)
    used = {t for r in references.values() for t in r} | {c.text for c in candidates}
    distinct = len(used)
    spare = [t for t in texts if t not in used][:4 * (1 + N_REFS)]
    warm = [rmx.Candidate(f"warm{i}", spare[i]) for i in range(4)]
    warm_refs = {f"warm{i}": spare[4 + N_REFS * i: 4 + N_REFS * (i + 1)] for i in range(4)}
    words = sum(len(c.text.split()) for c in candidates) / len(candidates)
    print(f"\ncase {case}: {len(candidates)} candidates, {len(references)} examples, "
          f"{distinct} distinct texts, mean {words:.0f} words/candidate")
    print("| metric | naive wall s | batched wall s | wall speed-up | naive CPU s | "
          "batched CPU s | CPU speed-up | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    totals = [0.0] * 4
    for m in metrics:
      # Warm both sides up (lazy imports, regex compilation) on texts outside the case, untimed,
      # so that no timed text is in any cache beforehand.
      scorers[m].score(warm, warm_refs)
      naive(m, warm, warm_refs, bert, rouge)
      # Interleave the two sides block by block (whole examples per block), so that load from
      # other processes on a shared machine falls on both alike.
      t = [0.0] * 4  # naive wall, batched wall, naive cpu, batched cpu
      batched, ref_scores = [], []
      for lo in range(0, len(candidates), args.block):
        block = candidates[lo:lo + args.block]
        w0, c0 = time.perf_counter(), time.process_time()
        report = scorers[m].score(block, references)
        w1, c1 = time.perf_counter(), time.process_time()
        scores, _ = naive(m, block, references, bert, rouge)
        w2, c2 = time.perf_counter(), time.process_time()
        batched += [getattr(r, m) for r in report.rows]
        ref_scores += scores
        t = [t[0] + w2 - w1, t[1] + w1 - w0, t[2] + c2 - c1, t[3] + c1 - c0]
      diff = max(abs(a - b) for a, b in zip(batched, ref_scores))
      totals = [a + b for a, b in zip(totals, t)]
      print(f"| {m} | {t[0]:.2f} | {t[1]:.2f} | {t[0] / t[1]:.2f}x | {t[2]:.2f} | {t[3]:.2f} | "
            f"{t[2] / t[3]:.2f}x | {diff:.2e} |", flush=True)
      results.append({"case": case, "metric": m, "naive_wall_s": t[0], "batched_wall_s": t[1],
                      "naive_cpu_s": t[2], "batched_cpu_s": t[3], "max_abs_diff": diff})
      tol = 1e-4 if m == "bertscore_f1" else 1e-9
      if diff > tol:
        print(f"MISMATCH: {m} differs by {diff} (> {tol})", file=sys.stderr)
        return 1
    print(f"| all | {totals[0]:.2f} | {totals[1]:.2f} | {totals[0] / totals[1]:.2f}x | "
          f"{totals[2]:.2f} | {totals[3]:.2f} | {totals[2] / totals[3]:.2f}x | |", flush=True)
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump(results, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
