"""Async client for any OpenAI-compatible chat/completions server (vLLM, llama.cpp, Ollama, APIs).

- Bounded concurrency: each server (base URL) gets `concurrency_per_server` slots; a request takes
  any free slot, so several single-thread llama.cpp servers are used in parallel and a retry may
  go to another server.
- A total deadline per request (`deadline_s`, all attempts and back-off sleeps together, counted
  from when the request gets a server slot): a server that accepts and never answers costs at
  most that long, not retries x timeout.
- Timeouts, and retries with exponential backoff (and Retry-After) on 429, 5xx, timeouts,
  dropped connections and malformed bodies. 401/403 (key) and 404 (model or URL) are
  misconfiguration: they fail at once with a message that says what to fix.
- The API key is read from an environment variable only; it is never logged, stored or shown
  (it is also scrubbed from server error messages).
- One request = one sample: M samples are M requests with distinct seeds (servers such as
  llama.cpp ignore `n>1`).
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
from typing import Any, Optional, Sequence

import httpx

from recsaver_t5x.errors import UserFacingError

DEFAULT_KEY_ENV = "RECSAVER_TEACHER_API_KEY"
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class TeacherError(UserFacingError):
  """A teacher request failed for good (retries exhausted, or a bad request)."""


class TeacherConfigError(TeacherError):
  """The server rejects the configuration (key, model, URL): retrying cannot help."""


@dataclasses.dataclass(frozen=True)
class ClientConfig:
  """Where the teacher is and how hard to push it.

  Attributes:
    base_urls: one or more OpenAI-compatible base URLs ending in /v1 (same model behind each).
    model: the model name sent in every request (and part of the sample-store key).
    api_key_env: name of the environment variable holding the key; None or unset: no key.
    concurrency_per_server: requests in flight per base URL.
    timeout_s: read timeout of one request (generation can be slow on CPU).
    connect_timeout_s: connect timeout.
    max_retries: retries after the first attempt for retryable failures.
    backoff_base_s, backoff_max_s: delay before retry k is min(max, base * 2**k) with jitter.
    deadline_s: total seconds one request may take over all its attempts and back-off sleeps,
      from when it gets a server slot (time queued for a slot does not count).
  """

  base_urls: tuple[str, ...]
  model: str
  api_key_env: Optional[str] = DEFAULT_KEY_ENV
  concurrency_per_server: int = 1
  timeout_s: float = 600.0
  connect_timeout_s: float = 10.0
  max_retries: int = 6
  backoff_base_s: float = 0.5
  backoff_max_s: float = 30.0
  deadline_s: float = 1800.0
  # "llama.cpp" for the embedded server; "unknown": ask GET /models (constrained.server_kind)
  server_kind: str = "unknown"

  def __post_init__(self):
    if isinstance(self.base_urls, str):
      object.__setattr__(self, "base_urls", (self.base_urls,))
    object.__setattr__(self, "base_urls", tuple(u.rstrip("/") for u in self.base_urls))
    if not self.base_urls:
      raise UserFacingError("no teacher base URL given")
    if self.concurrency_per_server < 1:
      raise UserFacingError("concurrency per server must be >= 1")
    if not self.deadline_s > 0:
      raise UserFacingError(f"request deadline must be > 0 seconds, got {self.deadline_s}")


@dataclasses.dataclass(frozen=True)
class ChatRequest:
  """One chat completion request (one sample)."""

  messages: tuple[dict, ...]
  temperature: float = 0.0
  seed: Optional[int] = None
  max_tokens: int = 512
  top_p: Optional[float] = None
  response_format: Optional[dict] = None
  logprobs: bool = False
  top_logprobs: int = 5
  stop: Optional[tuple[str, ...]] = None
  # further body fields, e.g. a constrained-output grammar (see `teacher.constrained`)
  extra_body: Optional[dict] = None

  def payload(self, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": list(self.messages),
                            "temperature": self.temperature, "max_tokens": self.max_tokens,
                            "stream": False}
    if self.seed is not None:
      body["seed"] = int(self.seed)
    if self.top_p is not None:
      body["top_p"] = self.top_p
    if self.response_format is not None:
      body["response_format"] = self.response_format
    if self.logprobs:
      body["logprobs"] = True
      body["top_logprobs"] = self.top_logprobs
    if self.stop:
      body["stop"] = list(self.stop)
    if self.extra_body:
      body.update(self.extra_body)
    return body


@dataclasses.dataclass(frozen=True)
class ChatResult:
  """The answer to one request, with what it cost."""

  text: str
  finish_reason: Optional[str]
  model: Optional[str]
  prompt_tokens: Optional[int]
  completion_tokens: Optional[int]
  logprobs: Optional[list[dict]]
  latency_s: float
  attempts: int
  server: str


def json_schema_format(schema: dict, name: str = "answer") -> dict:
  """`response_format` asking for JSON that follows `schema`.

  llama.cpp (llama-cpp-python) reads {"type": "json_object", "schema": ...}; OpenAI and vLLM read
  {"type": "json_schema", "json_schema": {...}}. Both keys are sent; each server ignores the
  other's.
  """
  return {"type": "json_object", "schema": schema,
          "json_schema": {"name": name, "schema": schema, "strict": True}}


def rating_schema(max_reason_chars: int = 2000) -> dict:
  """JSON answer {"reason": ..., "rating": 1..5}; reason first, so the model reasons, then rates.
  The length cap keeps the reason from running into max_tokens (truncated JSON is unparsed)."""
  return {
      "type": "object",
      "properties": {"reason": {"type": "string", "maxLength": max_reason_chars},
                     "rating": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
      "required": ["reason", "rating"],
  }


RATING_SCHEMA = rating_schema()


def _normalize_logprobs(lp: Any) -> Optional[list[dict]]:
  """OpenAI chat logprobs ({"content": [...]}) or completion-style ones, as a content list."""
  if not lp:
    return None
  if isinstance(lp, dict) and isinstance(lp.get("content"), list):
    return lp["content"]
  if isinstance(lp, dict) and isinstance(lp.get("tokens"), list):
    tops = lp.get("top_logprobs") or [None] * len(lp["tokens"])
    return [{"token": t, "logprob": l,
             "top_logprobs": [{"token": k, "logprob": v} for k, v in (top or {}).items()]}
            for t, l, top in zip(lp["tokens"], lp.get("token_logprobs") or [], tops)]
  return None


class TeacherClient:
  """Use as `async with TeacherClient(config) as client: await client.chat(request)`."""

  def __init__(self, config: ClientConfig, sleep=asyncio.sleep):
    self.config = config
    self._key = os.environ.get(config.api_key_env) if config.api_key_env else None
    self._sleep = sleep
    self._http: Optional[httpx.AsyncClient] = None
    self._slots: Optional[asyncio.Queue] = None
    self.stats = {"requests": 0, "retries": 0}

  def __repr__(self) -> str:  # never shows the key
    return (f"TeacherClient(base_urls={self.config.base_urls!r}, model={self.config.model!r}, "
            f"key={'set' if self._key else 'unset'})")

  async def __aenter__(self) -> "TeacherClient":
    c = self.config
    n = len(c.base_urls) * c.concurrency_per_server
    headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
    self._http = httpx.AsyncClient(
        headers=headers,
        timeout=httpx.Timeout(c.timeout_s, connect=c.connect_timeout_s),
        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
    self._slots = asyncio.Queue()
    for _ in range(c.concurrency_per_server):
      for url in c.base_urls:
        self._slots.put_nowait(url)
    return self

  async def __aexit__(self, *exc) -> None:
    if self._http is not None:
      await self._http.aclose()
    self._http = None

  @property
  def capacity(self) -> int:
    return len(self.config.base_urls) * self.config.concurrency_per_server

  def _scrub(self, text: str) -> str:
    if self._key:
      text = text.replace(self._key, "***")
    return text[:300]

  def _server_message(self, resp: httpx.Response) -> str:
    try:
      err = resp.json()
      if isinstance(err, dict):
        err = err.get("error", err.get("detail", err))
        if isinstance(err, dict):
          err = err.get("message", err)
      return self._scrub(str(err))
    except ValueError:
      return self._scrub(resp.text)

  def _config_error(self, url: str, resp: httpx.Response) -> TeacherConfigError:
    msg = self._server_message(resp)
    if resp.status_code in (401, 403):
      where = (f"${self.config.api_key_env} is set" if self._key
               else f"no key: set ${self.config.api_key_env}")
      return TeacherConfigError(f"{url}: HTTP {resp.status_code}, the server rejects the API key "
                                f"({where}): {msg}")
    return TeacherConfigError(
        f"{url}: HTTP 404 for model '{self.config.model}': {msg}. Check the model name "
        "(GET /v1/models lists what the server has) and that the base URL ends in /v1.")

  def _backoff(self, attempt: int, retry_after: Optional[str]) -> float:
    if retry_after:
      try:
        return min(self.config.backoff_max_s, max(0.0, float(retry_after)))
      except ValueError:
        pass
    delay = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** attempt)
    return delay * random.uniform(0.5, 1.0)

  async def chat(self, request: ChatRequest) -> ChatResult:
    """One chat completion, retried on transient failures."""
    if self._http is None:
      raise RuntimeError("use `async with TeacherClient(...)`")
    payload = request.payload(self.config.model)
    last = "no attempt made"
    deadline = None
    for attempt in range(self.config.max_retries + 1):
      retry_after = None
      url = await self._slots.get()
      t0 = time.perf_counter()
      if deadline is None:
        deadline = time.monotonic() + self.config.deadline_s
      try:
        self.stats["requests"] += 1
        # wait_for bounds the whole exchange (httpx's read timeout is per read, so a server that
        # trickles bytes could otherwise outlast it).
        resp = await asyncio.wait_for(self._http.post(f"{url}/chat/completions", json=payload),
                                      timeout=max(0.0, deadline - time.monotonic()))
      except asyncio.TimeoutError:
        last = f"{url}: no complete answer before the deadline"
      except httpx.TimeoutException as e:
        last = f"{url}: timeout ({type(e).__name__})"
      except httpx.TransportError as e:
        last = f"{url}: connection error ({type(e).__name__}: {self._scrub(str(e))})"
      else:
        latency = time.perf_counter() - t0
        if resp.status_code == 200:
          try:
            return self._result(resp, url, latency, attempt + 1)
          except (ValueError, KeyError, IndexError, TypeError) as e:
            last = f"{url}: malformed response body ({type(e).__name__}: {self._scrub(str(e))})"
        elif resp.status_code in (401, 403, 404):
          raise self._config_error(url, resp)
        elif resp.status_code in RETRY_STATUS or resp.status_code >= 500:
          last = f"{url}: HTTP {resp.status_code}: {self._server_message(resp)}"
          retry_after = resp.headers.get("retry-after")
        else:
          raise TeacherError(f"{url}: HTTP {resp.status_code}, the server refused the request: "
                             f"{self._server_message(resp)}")
      finally:
        self._slots.put_nowait(url)
      remaining = deadline - time.monotonic()
      if remaining <= 0:
        raise TeacherError(self._deadline_message(attempt + 1, last))
      if attempt < self.config.max_retries:
        self.stats["retries"] += 1
        delay = self._backoff(attempt, retry_after)
        if delay >= remaining:
          raise TeacherError(self._deadline_message(attempt + 1, last))
        await self._sleep(delay)
    raise TeacherError(f"teacher request failed after {self.config.max_retries + 1} attempts; "
                       f"last error: {last}")

  def _deadline_message(self, attempts: int, last: str) -> str:
    return (f"teacher request gave up at its total deadline of {self.config.deadline_s:g} s "
            f"(--request-deadline) after {attempts} attempt(s); last error: {last}. A server that "
            "accepts requests but does not answer is stuck or overloaded: check it, or raise "
            "--request-deadline for very long generations")

  def _result(self, resp: httpx.Response, url: str, latency: float, attempts: int) -> ChatResult:
    body = resp.json()
    choice = body["choices"][0]
    text = choice["message"]["content"]
    if not isinstance(text, str):
      raise TypeError(f"message content is {type(text).__name__}, not text")
    usage = body.get("usage") or {}
    return ChatResult(text=text, finish_reason=choice.get("finish_reason"), model=body.get("model"),
                      prompt_tokens=usage.get("prompt_tokens"),
                      completion_tokens=usage.get("completion_tokens"),
                      logprobs=_normalize_logprobs(choice.get("logprobs")), latency_s=latency,
                      attempts=attempts, server=url)

  async def list_models(self) -> list[str]:
    """GET /models on every server: checks reachability and the key before a long run."""
    names: list[str] = []
    for url in self.config.base_urls:
      try:
        resp = await self._http.get(f"{url}/models")
      except httpx.TransportError as e:
        raise TeacherError(f"{url}: cannot reach the teacher server ({type(e).__name__})") from None
      if resp.status_code in (401, 403, 404):
        raise self._config_error(url, resp)
      if resp.status_code != 200:
        raise TeacherError(f"{url}/models: HTTP {resp.status_code}: {self._server_message(resp)}")
      try:
        names += [m["id"] for m in resp.json().get("data", [])]
      except (ValueError, KeyError, TypeError, AttributeError):
        raise TeacherError(f"{url}/models: not an OpenAI-compatible model list") from None
    return names


async def chat_many(config: ClientConfig, requests: Sequence[ChatRequest]) -> list[ChatResult]:
  """Convenience: send `requests` with bounded concurrency, results in request order."""
  async with TeacherClient(config) as client:
    return list(await asyncio.gather(*(client.chat(r) for r in requests)))

