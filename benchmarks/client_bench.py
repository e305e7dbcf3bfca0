"""Client overhead: the toolkit's sampler vs a bare loop of HTTP calls, same server, same run.

Both send exactly the same requests (same prompts, seeds, temperature, max_tokens) to the same
llama.cpp server, one at a time (one single-thread server, one slot), in ABBA order (bare, sampler,
sampler, bare) after a warm-up, so drift on a shared machine hits both equally. The sampler run
includes everything it does for real: async client, retries bookkeeping, fsync'd store appends,
the tqdm bar. Prints both wall times and the ratio sampler / bare.

  .venv/bin/python benchmarks/client_bench.py                     # embedded packaged SmolLM2
  .venv/bin/python benchmarks/client_bench.py --n 20 --max-tokens 64
  .venv/bin/python benchmarks/client_bench.py --base-url http://127.0.0.1:8000/v1 --model NAME

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # pylint: disable=wrong-import-position

from recsaver_t5x.data.records import Example, HistoryEntry, Item  # pylint: disable=wrong-import-position
from recsaver_t5x.prompting.variants import VARIANTS, Budget  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher import server  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.client import ClientConfig  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.sampler import SamplingConfig, example_jobs, sample_jobs  # pylint: disable=wrong-import-position
from recsaver_t5x.teacher.store import SampleStore  # pylint: disable=wrong-import-position


def examples(n: int, prepared: str | None) -> list[Example]:
  if prepared:
    from recsaver_t5x.data import io as data_io  # pylint: disable=import-outside-toplevel
    return data_io.read_split(prepared, "test")[:n]
  out = []
  for i in range(n):  # small synthetic beauty examples (labelled synthetic)
    hist = tuple(HistoryEntry(Item(f"S{i}-{j}", title=f"synthetic shampoo {j}", brand="Acme",
                                   categories=("Beauty", "Hair Care"), description="Gentle, for dry hair.",
                                   price="$9.99"), rating=(i + j) % 5 + 1,
                              review=f"synthetic review {j}: it smells nice and my hair feels soft.",
                              summary=None, timestamp=j) for j in range(4))
    out.append(Example(f"synthetic-{i}", "all_beauty", f"u{i}", hist,
                       Item(f"T{i}", title="synthetic conditioner", brand="Acme",
                            categories=("Beauty",), description="Softens hair.", price="$5.00"),
                       rating=i % 5 + 1, timestamp=99, split="test"))
  return out


def bare_loop(url: str, model: str, jobs) -> float:
  t0 = time.perf_counter()
  with httpx.Client(timeout=600) as client:
    for j in jobs:
      r = client.post(f"{url}/chat/completions", json=j.request.payload(model))
      r.raise_for_status()
      assert isinstance(r.json()["choices"][0]["message"]["content"], str)
  return time.perf_counter() - t0


def sampler_run(url: str, model: str, jobs) -> float:
  with tempfile.TemporaryDirectory() as d:
    with SampleStore(os.path.join(d, "s.jsonl")) as store:
      t0 = time.perf_counter()
      stats = sample_jobs(ClientConfig((url,), model, api_key_env=None), store, jobs, desc="sampler")
      wall = time.perf_counter() - t0
      assert stats.sampled == len(jobs)
  return wall


def main() -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--n", type=int, default=12, help="requests per run")
  p.add_argument("--max-tokens", type=int, default=48)
  p.add_argument("--temperature", type=float, default=0.7)
  p.add_argument("--max-prompt-chars", type=int, default=1500)
  p.add_argument("--prepared", help="take test examples from a prepared directory")
  p.add_argument("--base-url", help="an already running server (default: start the embedded one)")
  p.add_argument("--model", help="model name for --base-url")
  args = p.parse_args()

  pool = None
  if args.base_url:
    url, model = args.base_url.rstrip("/"), args.model
  else:
    pool = server.ServerPool(server.ServerSpec(server.packaged_gguf(), n_ctx=4096)).start()
    url, model = pool.urls[0], pool.model
    print(f"embedded server {model} ready in {pool.startup_s:.2f}s")
  try:
    sc = SamplingConfig(num_samples=1, temperature=args.temperature, max_tokens=args.max_tokens,
                        budget=Budget(max_prompt_chars=args.max_prompt_chars))
    jobs = example_jobs(examples(args.n, args.prepared), VARIANTS["reasoning"], model, sc)
    bare_loop(url, model, jobs[:1])  # warm-up (model pages, caches)
    bare, ours = [], []
    for order in ("bare", "ours", "ours", "bare"):
      if order == "bare":
        bare.append(bare_loop(url, model, jobs))
      else:
        ours.append(sampler_run(url, model, jobs))
      print(f"  {order:5s} {len(jobs)} requests: {(bare if order == 'bare' else ours)[-1]:.2f}s", flush=True)
    b, o = statistics.mean(bare), statistics.mean(ours)
    print(f"bare loop {b:.2f}s, sampler {o:.2f}s for {len(jobs)} requests "
          f"({(o - b) / len(jobs) * 1000:+.1f} ms/request); ratio sampler/bare = {o / b:.3f}")
  finally:
    if pool:
      pool.stop()
  return 0


if __name__ == "__main__":
  sys.exit(main())
