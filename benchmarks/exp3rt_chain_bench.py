"""Benchmark EXP3RT's chained student inference vs the first study's single-step reasoning student.

Same process, same student (one model, same parameters, same input and decode lengths, same batch
size), same test examples:
  chained:     the student's own extraction of every selected review, its user and item
               profiles, then the rating prompt (`exp3rt.chain.predict`, student profiles);
  teacher-profiles chain: only the rating prompt (EXP3RT's ablation);
  single-step: the study's reasoning prompt (`prompting.variants.build_prompt(ex, "reasoning")`),
               one decode + the rating-token pass (`Student.rate`).
Every side is warmed up once (XLA compilation) before timing; the sides are then timed round by
round, interleaved, so load from other processes falls on all alike. Prints seconds per example,
decoded sequences per example and the ratios.

  .venv/bin/python benchmarks/exp3rt_chain_bench.py PREPARED EXP3RT_DIR --model-dir M --vocabulary S

Measured on the shared 2-core VM (magazine_subscriptions, 8+4 per label, rule teacher), tiny student
trained 60 steps on the EXP3RT mixture, user cap 4, item cap 3, 8 test examples, decode 64:
  chained (own profiles)      0.0780 s/example, 7.25 sequences/example, 5.62x single-step
  chained (teacher profiles)  0.0143 s/example, 1.00 sequences/example, 1.03x
  single-step reasoning       0.0139 s/example, 1.00 sequences/example, 1.00x
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("prepared")
  p.add_argument("exp3rt_dir")
  p.add_argument("--model-dir", required=True, help="a `recsaver train` MODEL_DIR")
  p.add_argument("--vocabulary", required=True)
  p.add_argument("--limit", type=int, default=8)
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--input-length", type=int, default=512)
  p.add_argument("--max-decode-length", type=int, default=64)
  p.add_argument("--batch-size", type=int, default=8)
  args = p.parse_args()

  import jax
  from recsaver_t5x.data import io as data_io
  from recsaver_t5x.exp3rt import chain, prompts, selection, workdir
  from recsaver_t5x.exp3rt.student import Student
  from recsaver_t5x.model.vocab import get_vocabulary
  from recsaver_t5x.prompting.variants import Budget, build_prompt
  from recsaver_t5x.scale import RatingScale
  from recsaver_t5x.trainer.evaluate_lib import load_model

  vocab = get_vocabulary(args.vocabulary)
  config, params, _ = load_model(args.model_dir)
  cfg = workdir.read_config(args.exp3rt_dir)
  scale = RatingScale.from_dict(cfg["scale"])
  sels = [selection.Selection.from_dict(d) for d in
          workdir.read_jsonl(workdir.path(args.exp3rt_dir, workdir.SELECTION), "preferences")]
  sels = [s for s in sels if s.split == "test"][:args.limit]
  test = {ex.example_id: ex for ex in data_io.read_split(args.prepared, "test")}
  items = {ex.target.asin: ex.target for ex in test.values()}
  inp = chain.ChainInputs(
      sels, {d["review_id"]: d for d in workdir.read_jsonl(
          workdir.path(args.exp3rt_dir, workdir.PREFERENCES), "preferences")},
      {d["example_id"]: d for d in workdir.read_jsonl(
          workdir.path(args.exp3rt_dir, workdir.PROFILES), "profiles")},
      items, selection.SelectionConfig(**{**cfg["selection"], "criterion": "helpful"}),
      prompts.domain_wording(cfg["domain"]), prompts.PromptBudget(**cfg["budget"]), scale)
  wording = prompts.domain_wording(cfg["domain"])  # the same wording on both sides
  reasoning_prompts = [build_prompt(test[s.example_id], "reasoning", wording=wording,
                                    budget=Budget(max_prompt_chars=4000)).text for s in sels]

  def fresh():
    return Student(config, params, vocab, args.input_length, args.max_decode_length,
                   args.batch_size)

  sides = {
      "chained (own profiles)": lambda st: chain.predict(st, inp, teacher_profiles=False),
      "chained (teacher profiles)": lambda st: chain.predict(st, inp, teacher_profiles=True),
      "single-step reasoning": lambda st: st.rate(reasoning_prompts, RatingScale()),
  }
  for fn in sides.values():  # compile every shape once
    fn(fresh())
  times = {k: [] for k in sides}
  seqs = {}
  for _ in range(args.rounds):
    for name, fn in sides.items():
      st = fresh()
      t0 = time.perf_counter()
      fn(st)
      times[name].append(time.perf_counter() - t0)
      seqs[name] = st.decode_rows
  n = len(sels)
  base = statistics.median(times["single-step reasoning"]) / n
  print(f"{n} test examples, {args.rounds} interleaved rounds, input {args.input_length}, "
        f"decode {args.max_decode_length}, batch {args.batch_size}, "
        f"{jax.default_backend()}")
  print(f"{'side':30s} {'s/example':>10s} {'seqs/example':>13s} {'vs single-step':>15s}")
  for name in sides:
    per = statistics.median(times[name]) / n
    print(f"{name:30s} {per:10.4f} {seqs[name] / n:13.2f} {per / base:14.2f}x")
  return 0


if __name__ == "__main__":
  sys.exit(main())
