"""`recsaver serve` throughput and latency: 1, 8 and 32 concurrent HTTP clients vs calling the
decoder one request at a time, same model, same requests, same run.

The peer ("sequential") is the engine itself, called with one row per batch in a plain loop:
no HTTP, no queue, just the jitted decoder and the rating pass a request needs. The server runs
in this process (uvicorn on 127.0.0.1, a free port) over the same engine after warm-up of every
bucket; the clients are httpx async clients. Every setting sends the same bounded list of
requests (greedy, the same prompts, `max_tokens`). Prints a table (throughput, p50/p99 latency,
ratio of throughput to the sequential peer) and checks that serving compiled nothing.

  .venv/bin/python benchmarks/serve_bench.py                     # tiny random-init model
  .venv/bin/python benchmarks/serve_bench.py --requests 128 --max-tokens 64
  .venv/bin/python benchmarks/serve_bench.py --model runs/demo/train/reason_all --vocabulary runs/demo/tasks/spm.model

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_student(workdir: str):
  """A random-init tiny T5 with a SentencePiece vocabulary trained on synthetic prompts."""
  # pylint: disable=import-outside-toplevel
  import flax
  import jax
  import jax.numpy as jnp
  from recsaver_t5x.model.config import get_config
  from recsaver_t5x.model.network import Transformer
  from recsaver_t5x.model.vocab import get_vocabulary, train_sentencepiece
  from recsaver_t5x.serve.student import Student
  texts = [f"### Reason ### the user liked item {i} because of its scent and price. "
           f"### Rating ### {i % 5 + 1}" for i in range(400)]
  spm = train_sentencepiece(texts, os.path.join(workdir, "spm"), 300, num_threads=1)
  vocab = get_vocabulary(spm)
  # Small enough for a 2-core CPU, big enough that decoding (not HTTP) is the work.
  config = get_config("tiny", emb_dim=256, num_heads=4, head_dim=64, mlp_dim=512,
                      num_encoder_layers=2, num_decoder_layers=2, vocab_size=384,
                      dropout_rate=0.0, dtype="float32")
  x = jnp.ones((1, 8), jnp.int32)
  params = flax.linen.meta.unbox(Transformer(config).init(jax.random.PRNGKey(0), x, x, x,
                                                          enable_dropout=False)["params"])
  return Student("bench", "recsaver", config, params, vocab, 0, "random init")


def prompts(n: int) -> list[str]:
  words = "scent price shampoo gentle hair dry soft brand review rating liked bottle".split()
  return [" ".join(words[(i + j) % len(words)] for j in range(8 + (i * 37) % 120)) for i in range(n)]


def percentile(xs: list[float], q: float) -> float:
  xs = sorted(xs)
  k = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
  return xs[k]


async def _clients(url: str, model: str, texts: list[str], concurrency: int,
                   max_tokens: int) -> tuple[float, list[float]]:
  import httpx  # pylint: disable=import-outside-toplevel
  todo = list(texts)
  lat: list[float] = []
  async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency)) as c:
    async def client():
      while todo:
        t = todo.pop()
        s = time.perf_counter()
        r = await c.post(url, json={"model": model, "prompt": t, "temperature": 0,
                                    "max_tokens": max_tokens})
        r.raise_for_status()
        lat.append(time.perf_counter() - s)
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - t0, lat


def client_main(argv: list[str]) -> int:
  """Child process: the HTTP clients (kept out of the server's process and its GIL)."""
  url, model, concurrency, n, max_tokens = argv
  wall, lat = asyncio.run(_clients(url, model, prompts(int(n)), int(concurrency), int(max_tokens)))
  print(json.dumps({"wall": wall, "lat": lat}))
  return 0


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--model", help="serve this model dir instead of a random tiny model")
  ap.add_argument("--vocabulary")
  ap.add_argument("--requests", type=int, default=128, help="requests per setting")
  ap.add_argument("--max-tokens", type=int, default=32)
  ap.add_argument("--max-batch", type=int, default=32)
  ap.add_argument("--client", help=argparse.SUPPRESS)
  ap.add_argument("--concurrency", default="1,8,32")
  ap.add_argument("--json", help="also write the results here")
  args = ap.parse_args(argv)
  # pylint: disable=import-outside-toplevel
  import uvicorn
  from recsaver_t5x.serve.app import create_app
  from recsaver_t5x.serve.engine import Buckets, DecodeSpec, Engine, Row
  from recsaver_t5x.serve.student import load_student

  tmp = tempfile.mkdtemp(prefix="serve_bench_")  # the vocabulary file is read lazily
  student = (load_student(args.model, vocabulary=args.vocabulary, name="bench") if args.model
             else tiny_student(tmp))
  buckets = Buckets(Buckets.default(args.max_batch, 128, args.max_tokens).batch, (64, 128),
                    (args.max_tokens,))
  engine = Engine(student, buckets)
  t0 = time.perf_counter()
  engine.warmup(sampled=False, logprobs=False)
  warm_s = time.perf_counter() - t0
  texts = prompts(args.requests)
  compiles_after_warmup = engine.compile_counter.count

  # Peer: the decoder one request at a time.
  seq_lat = []
  t0 = time.perf_counter()
  for t in texts:
    s = time.perf_counter()
    engine.run([Row(engine.encode_prompt(t)[0], args.max_tokens, DecodeSpec())])
    seq_lat.append(time.perf_counter() - s)
  seq_s = time.perf_counter() - t0
  rows = [{"setting": "decoder, one request at a time", "concurrency": 1,
           "req_per_s": args.requests / seq_s, "p50_ms": 1e3 * percentile(seq_lat, 50),
           "p99_ms": 1e3 * percentile(seq_lat, 99), "ratio": 1.0}]

  app = create_app(engine, student.name, max_queue=10_000)
  sock = socket.socket()
  sock.bind(("127.0.0.1", 0))
  port = sock.getsockname()[1]
  server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
  thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
  thread.start()
  while not server.started:
    time.sleep(0.05)
  url = f"http://127.0.0.1:{port}/v1/completions"

  for conc in (int(x) for x in args.concurrency.split(",")):
    out = subprocess.run([sys.executable, __file__, "--client", url, student.name, str(conc),
                          str(args.requests), str(args.max_tokens)], check=True,
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    res = json.loads(out.stdout.strip().splitlines()[-1])
    sizes = app.state.batcher.batch_sizes
    print(f"{conc} clients: batch sizes {dict(sorted(sizes.items()))}", file=sys.stderr)
    sizes.clear()
    wall, lat = res["wall"], res["lat"]
    rows.append({"setting": "recsaver serve (HTTP, dynamic batching)", "concurrency": conc,
                 "req_per_s": args.requests / wall, "p50_ms": 1e3 * percentile(lat, 50),
                 "p99_ms": 1e3 * percentile(lat, 99),
                 "ratio": (args.requests / wall) / rows[0]["req_per_s"]})
  server.should_exit = True
  thread.join(30)
  recompiled = engine.compile_counter.count - compiles_after_warmup
  print(f"model: {student.source}; {args.requests} greedy requests per setting, max_tokens "
        f"{args.max_tokens}, buckets batch {buckets.batch} inputs {buckets.inputs}; warm-up "
        f"{warm_s:.1f}s; compilations while serving: {recompiled}; cpu_count {os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.2f}")
  print("| setting | clients | req/s | p50 ms | p99 ms | throughput vs sequential |")
  print("|---|---:|---:|---:|---:|---:|")
  for r in rows:
    print(f"| {r['setting']} | {r['concurrency']} | {r['req_per_s']:.1f} | {r['p50_ms']:.0f} | "
          f"{r['p99_ms']:.0f} | {r['ratio']:.2f}x |")
  st = engine.stats
  print(f"served {st['rows']} rows in {st['batches']} decoder batches "
        f"(mean {st['rows'] / max(1, st['batches']):.1f} rows; the sequential peer's are included)")
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump({"rows": rows, "compilations_while_serving": recompiled}, f, indent=2)
  return 0 if recompiled == 0 else 1


if __name__ == "__main__":
  if len(sys.argv) > 1 and sys.argv[1] == "--client":
    sys.exit(client_main(sys.argv[2:]))
  sys.exit(main())
