"""`recsaver serve`: a trained student as an OpenAI-compatible HTTP server.

    recsaver serve runs/demo/train/reason_all --port 8010
    recsaver zeroshot data/beauty --out z --teacher-base-url http://127.0.0.1:8010/v1 \\
        --teacher-model reason_all --logprobs

Serves /v1/models, /v1/completions and /v1/chat/completions on 127.0.0.1 unless --host says
otherwise. Concurrent requests are batched onto the jitted decoder; shapes come from length
buckets, so nothing compiles per request once each bucket has run (--warmup compiles them all
at start-up). SIGINT/SIGTERM stop accepting, finish what was accepted, then exit.
"""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from recsaver_t5x import argtypes, paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "model": (_p.IN_DIR, "model directory"),
    "vocabulary": (_p.IN_FILE, "SentencePiece model"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("model", help="a `recsaver train` model dir, a Hugging Face T5 directory or a "
                               "T5X checkpoint (then also --model-config)")
  p.add_argument("--vocabulary", help="SentencePiece model (default: found in the model dir or "
                                      "its training tasks config)")
  p.add_argument("--step", type=argtypes.nonneg_int, help="checkpoint step (default: latest)")
  p.add_argument("--model-config", help="T5X checkpoints: a T5X-style config JSON or a size name")
  p.add_argument("--model-name", help="the name clients send as `model` (default: dir name)")
  p.add_argument("--host", default="127.0.0.1",
                 help="address to bind (default loopback only; another address exposes the "
                      "server beyond this machine)")
  p.add_argument("--port", type=argtypes.port, default=8000, help="port (0: a free one)")
  p.add_argument("--max-batch", type=argtypes.positive_int, default=16, help="largest decoder batch (rows)")
  p.add_argument("--max-input-length", type=argtypes.positive_int, default=512,
                 help="prompt tokens kept (longer prompts keep their end, as in the tasks)")
  p.add_argument("--max-decode-length", type=argtypes.positive_int, default=256, help="largest max_tokens")
  p.add_argument("--batch-buckets", type=argtypes.int_list(1), help="batch sizes (default: powers of two)")
  p.add_argument("--input-buckets", type=argtypes.int_list(1), help="input lengths (default: powers of two from 64)")
  p.add_argument("--decode-buckets", type=argtypes.int_list(1),
                 help="decode lengths (default: powers of two from 32)")
  p.add_argument("--max-queue", type=argtypes.positive_int, default=256,
                 help="requests allowed to wait; beyond that HTTP 429")
  p.add_argument("--batch-wait-ms", type=argtypes.nonneg_float, default=0.0,
                 help="wait up to this long for a batch to fill (default 0: take what is queued)")
  p.add_argument("--warmup", action="store_true", help="compile every bucket before serving")
  p.add_argument("--rating-scale", default="1..5", type=argtypes.checked(lambda t: _scale(t)), help="rating scale LOW..HIGH (default 1..5)")
  p.add_argument("--graceful-timeout", type=argtypes.nonneg_float, default=60.0,
                 help="seconds to finish open requests on shutdown")
  p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug", "trace"),
                 help="uvicorn log level")


def _scale(text: str):
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.scale import RatingScale  # pylint: disable=import-outside-toplevel
  try:
    low, high = (int(x) for x in text.split(".."))
    return RatingScale(low, high, positive_above=min(max(low, (low + high) // 2), high - 1))
  except ValueError as e:
    raise UserFacingError(f"--rating-scale {text!r}: expected LOW..HIGH, e.g. 1..5 ({e})") from None


def build(args: argparse.Namespace):
  """(engine, app) from the parsed flags (also used by the benchmark and tests)."""
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.serve.app import create_app
  from recsaver_t5x.serve.engine import Buckets, Engine
  from recsaver_t5x.serve.student import load_student
  for flag in ("max_batch", "max_input_length", "max_decode_length", "max_queue"):
    if getattr(args, flag) < 1:
      raise UserFacingError(f"--{flag.replace('_', '-')} must be >= 1")
  student = load_student(args.model, vocabulary=args.vocabulary, step=args.step,
                         model_config=args.model_config, name=args.model_name)
  default = Buckets.default(args.max_batch, args.max_input_length, args.max_decode_length)
  try:
    buckets = Buckets(args.batch_buckets or default.batch, args.input_buckets or default.inputs,
                      args.decode_buckets or default.decode)
  except ValueError as e:
    raise UserFacingError(str(e)) from None
  engine = Engine(student, buckets, _scale(args.rating_scale))
  app = create_app(engine, student.name, max_queue=args.max_queue,
                   max_wait_s=args.batch_wait_ms / 1000.0)
  return engine, app


def main(args: argparse.Namespace) -> int:
  import uvicorn  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.serve import listen  # pylint: disable=import-outside-toplevel
  if not listen.is_loopback(args.host):
    print(f"recsaver serve: binding {args.host}: reachable beyond this machine (no "
          "authentication)", file=sys.stderr)
  t0 = time.perf_counter()
  engine, app = build(args)
  if args.warmup:
    shapes = engine.warmup()
    print(f"warm-up: {shapes} bucket shapes, {engine.compile_counter.count} compilations, "
          f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
  sock = listen.bind(args.host, args.port)
  port = sock.getsockname()[1]
  server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level,
                                         timeout_graceful_shutdown=args.graceful_timeout,
                                         access_log=False))
  host = f"[{args.host}]" if sock.family == socket.AF_INET6 else args.host

  def announce():
    while not server.started and not server.should_exit:
      time.sleep(0.05)
    if server.started:
      print(f"http://{host}:{port}/v1", flush=True)
      print(f"model {engine.student.name} ({engine.student.kind}, step {engine.student.step}); "
            f"use: --teacher-base-url http://{host}:{port}/v1 --teacher-model "
            f"{engine.student.name}; Ctrl-C stops", file=sys.stderr, flush=True)

  threading.Thread(target=announce, daemon=True).start()
  # uvicorn handles SIGINT/SIGTERM (graceful shutdown) and afterwards re-raises the signal to
  # the handler it replaced; this one makes that a normal exit (status 0) after a clean drain.
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: None)
  server.run(sockets=[sock])
  print("recsaver serve: stopped after finishing the accepted requests", file=sys.stderr)
  return 0
