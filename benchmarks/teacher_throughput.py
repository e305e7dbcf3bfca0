"""Embedded teacher throughput: server start-up, generation tokens/s, N prompts on 1 vs K servers.

For each server count (default 1 and 2 single-thread llama.cpp servers with the packaged SmolLM2
GGUF): start the pool (timed), send one short-prompt request with a long answer (generation
tokens/s), then sample the same N study prompts with the toolkit's sampler into a fresh store
(timed: wall, prompt and completion tokens). Prompts are the reasoning variant of real test
examples from a prepared directory when given, else small synthetic ones.

  .venv/bin/python benchmarks/teacher_throughput.py --prepared /path/to/prepared --n 20
  .venv/bin/python benchmarks/teacher_throughput.py --servers 1,2 --max-prompt-chars 3000

Not part of the test suite. CPU timings depend on what else runs on the machine: report them with
the machine's load.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # pylint: disable=wrong-import-position

from benchmarks.client_bench import examples  # pylint: disable=wrong-import-position
from recsaver_t5x.prompting.variants import VARIANTS, Budget  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher import server  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.client import ClientConfig  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.sampler import SamplingConfig, example_jobs, sample_jobs  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.store import SampleStore  # pylint: disable=wrong-import-position


def generation_rate(url: str, model: str) -> tuple[int, float]:
  body = {"model": model, "messages": [{"role": "user", "content": "Write a long story about a cat."}],
          "max_tokens": 200, "temperature": 0.0}
  t0 = time.perf_counter()
  r = httpx.post(f"{url}/chat/completions", json=body, timeout=600).json()
  wall = time.perf_counter() - t0
  return r["usage"]["completion_tokens"], wall


def main() -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--servers", default="1,2", help="server counts to compare")
  p.add_argument("--n", type=int, default=20, help="prompts per run")
  p.add_argument("--max-tokens", type=int, default=64)
  p.add_argument("--temperature", type=float, default=0.7)
  p.add_argument("--max-prompt-chars", type=int, default=3000)
  p.add_argument("--prepared", help="prepared dataset directory (test split prompts)")
  args = p.parse_args()
  exs = examples(args.n, args.prepared)
  print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
  for k in (int(x) for x in args.servers.split(",")):
    spec = server.ServerSpec(server.packaged_gguf(), n_ctx=8192)
    with server.ServerPool(spec, n=k) as pool:
      per = ", ".join(f"{s.startup_s:.2f}" for s in pool.servers)
      print(f"[{k} server(s)] start-up {pool.startup_s:.2f}s (each: {per})")
      toks, wall = generation_rate(pool.urls[0], pool.model)
      print(f"[{k} server(s)] generation: {toks} tokens in {wall:.2f}s = {toks / wall:.1f} tok/s "
            "(one request, short prompt)")
      sc = SamplingConfig(num_samples=1, temperature=args.temperature, max_tokens=args.max_tokens,
                          budget=Budget(max_prompt_chars=args.max_prompt_chars))
      jobs = example_jobs(exs, VARIANTS["reasoning"], pool.model, sc)
      with tempfile.TemporaryDirectory() as d, SampleStore(os.path.join(d, "s.jsonl")) as store:
        cfg = ClientConfig(pool.urls, pool.model, api_key_env=None)
        stats = sample_jobs(cfg, store, jobs, desc=f"{k} server(s)")
        prompt_toks = sum(s.prompt_tokens or 0 for s in store.samples())
      print(f"[{k} server(s)] {len(jobs)} prompts ({prompt_toks} prompt + {stats.completion_tokens} "
            f"completion tokens): {stats.wall_s:.1f}s, {stats.wall_s / len(jobs):.2f} s/prompt, "
            f"{(prompt_toks + stats.completion_tokens) / stats.wall_s:.0f} tok/s processed; "
            f"load average now {os.getloadavg()[0]:.2f}", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
