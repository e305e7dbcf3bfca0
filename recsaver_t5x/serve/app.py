"""The FastAPI application: /v1/models, /v1/completions, /v1/chat/completions (+ /health, /stats).

Every request is validated (pydantic), turned into decode rows (prompts x n), queued on the
`Batcher` and answered when its rows are done. Errors use OpenAI's shape
{"error": {"message", "type", "param", "code"}}: 400 for a bad body, 404 for an unknown model,
429 (with Retry-After) when the queue is full, 503 while shutting down.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from recsaver_t5x.answer import parse_answer
from recsaver_t5x.serve import protocol
from recsaver_t5x.serve.batcher import Batcher, QueueFull, ShuttingDown
from recsaver_t5x.serve.engine import DecodeSpec, Engine, Row, RowResult


class ApiError(Exception):
  def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
               param: Optional[str] = None, headers: Optional[dict] = None):
    super().__init__(message)
    self.status, self.message, self.kind, self.param, self.headers = (status, message, kind,
                                                                      param, headers)


def _error(status: int, message: str, kind: str, param: Optional[str] = None,
           headers: Optional[dict] = None) -> JSONResponse:
  return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}},
                      status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, Optional[str]]:
  errs = exc.errors()
  if not errs:
    return "invalid request body", None
  e = errs[0]
  loc = [str(x) for x in e.get("loc", ()) if x != "body"]
  param = ".".join(loc) or None
  msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
  more = f" (and {len(errs) - 1} more problem(s))" if len(errs) > 1 else ""
  return (f"{param}: {msg}{more}" if param else f"{msg}{more}"), param


def create_app(engine: Engine, model_name: str, max_queue: int = 256,
               max_wait_s: float = 0.0) -> FastAPI:
  """The server application; the batcher starts with the app and drains on shutdown."""
  state: dict[str, Any] = {"batcher": None, "started": time.time(), "requests": 0,
                           "rejected_429": 0}

  @contextlib.asynccontextmanager
  async def lifespan(_app: FastAPI):
    state["batcher"] = _app.state.batcher = Batcher(engine, max_queue=max_queue,
                                                    max_wait_s=max_wait_s)
    try:
      yield
    finally:  # uvicorn has finished the open requests; finish anything still queued
      await asyncio.to_thread(state["batcher"].close)

  app = FastAPI(title="recsaver serve", lifespan=lifespan, docs_url=None, redoc_url=None)

  @app.exception_handler(RequestValidationError)
  async def _on_validation(_request: Request, exc: RequestValidationError):
    message, param = _validation_message(exc)
    return _error(400, message, "invalid_request_error", param)

  @app.exception_handler(ApiError)
  async def _on_api_error(_request: Request, exc: ApiError):
    return _error(exc.status, exc.message, exc.kind, exc.param, exc.headers)

  def check_model(name: str) -> None:
    if name != model_name:
      raise ApiError(404, f"The model '{name}' does not exist; this server has '{model_name}'",
                     "not_found_error", "model")

  async def decode(rows: list[Row]) -> list[RowResult]:
    state["requests"] += 1
    try:
      fut = state["batcher"].submit(rows)
    except QueueFull:
      state["rejected_429"] += 1
      raise ApiError(429, f"the request queue is full ({max_queue} requests waiting); retry "
                     "shortly", "rate_limit_error", headers={"Retry-After": "1"}) from None
    except ShuttingDown:
      raise ApiError(503, "the server is shutting down", "server_error") from None
    return await asyncio.wrap_future(fut)

  def rows_for(req: protocol._Common, prompts: list[str],
               logprobs: bool) -> tuple[list[Row], list[int], list[bool]]:
    max_tokens = req.max_tokens or engine.buckets.max_decode_length
    if max_tokens > engine.buckets.max_decode_length:
      raise ApiError(400, f"max_tokens: {max_tokens} exceeds this server's maximum decode length "
                     f"{engine.buckets.max_decode_length}", param="max_tokens")
    spec = DecodeSpec(temperature=float(req.temperature), top_k=int(req.top_k))
    rows, lengths, truncated = [], [], []
    for p in prompts:
      ids, trunc = engine.encode_prompt(p)
      lengths.append(len(ids))
      truncated.append(trunc)
      for j in range(req.n):
        seed = None if req.seed is None else req.seed + j
        rows.append(Row(ids, max_tokens, spec, logprobs, seed))
    return rows, lengths, truncated

  def choice_parts(res: RowResult, stops: list[str], truncated: bool) -> tuple[str, str, list, dict]:
    full = engine.decode_text(res.tokens)
    text, stopped = protocol.apply_stop(full, stops)
    finish = "stop" if (stopped or res.finished) else "length"
    parsed = parse_answer(full, engine.scale)
    values = engine.scale.values
    if res.rating_probs is None:
      ext = {"unavailable": engine.rating_unavailable, "predicted_rating": parsed.rating}
      pieces = protocol.token_texts(engine.decode_text, res.tokens, text) if res.token_logprobs \
          is not None else []
      return text, finish, pieces, ext
    ext = {"rating_probabilities": {str(v): p for v, p in zip(values, res.rating_probs)},
           "expected_rating": float(sum(v * p for v, p in zip(values, res.rating_probs))),
           "predicted_rating": parsed.rating, "marker_appended": res.marker_appended,
           "scale": engine.scale.to_dict(), "input_truncated": truncated}
    pieces = protocol.token_texts(engine.decode_text, res.tokens, text) if res.token_logprobs \
        is not None else []
    return text, finish, pieces, ext

  def piece_text(token_id: int) -> str:
    return engine.student.vocab.tokenizer.id_to_piece(int(token_id)).replace("\u2581", " ")

  def usage(lengths: list[int], results: list[RowResult]) -> dict:
    prompt = sum(lengths)
    completion = sum(len(r.tokens) + int(r.finished) for r in results)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}

  @app.get("/v1/models")
  async def models():
    return {"object": "list", "data": [{"id": model_name, "object": "model",
                                        "created": int(state["started"]),
                                        "owned_by": "recsaver"}]}

  @app.get("/health")
  async def health():
    return {"status": "ok", "model": model_name}

  @app.get("/stats")
  async def stats():
    """Operational counters (compilations, batches, queue), e.g. to check warm-up held."""
    b = state["batcher"]
    return {"model": model_name, "compiles": engine.compile_counter.count,
            "requests": state["requests"], "rejected_429": state["rejected_429"],
            "queued": b.queued if b else 0, "batch_sizes": dict(b.batch_sizes) if b else {},
            **engine.stats, "buckets": {"batch": engine.buckets.batch,
                                        "inputs": engine.buckets.inputs,
                                        "decode": engine.buckets.decode}}

  @app.post("/v1/chat/completions")
  async def chat(req: protocol.ChatCompletionRequest):
    check_model(req.model)
    rows, lengths, truncated = rows_for(req, [req.prompt_text()], req.logprobs)
    results = await decode(rows)
    choices = []
    for i, res in enumerate(results):
      text, finish, pieces, ext = choice_parts(res, req.stops, truncated[0])
      lp = None
      if req.logprobs:
        lp = protocol.chat_logprobs(pieces, res.token_logprobs, res.top_logprobs,
                                    req.top_logprobs or 0, piece_text)
      choices.append({"index": i, "message": {"role": "assistant", "content": text},
                      "finish_reason": finish, "logprobs": lp, "recsaver": ext})
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model_name, "choices": choices,
            "usage": usage(lengths, results)}

  @app.post("/v1/completions")
  async def completions(req: protocol.CompletionRequest):
    check_model(req.model)
    want_lp = req.logprobs is not None
    rows, lengths, truncated = rows_for(req, req.prompts, want_lp)
    results = await decode(rows)
    choices = []
    for i, res in enumerate(results):
      text, finish, pieces, ext = choice_parts(res, req.stops, truncated[i // req.n])
      lp = None
      if want_lp:
        lp = protocol.completion_logprobs(pieces, res.token_logprobs, res.top_logprobs,
                                          req.logprobs, piece_text)
      choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": lp,
                      "recsaver": ext})
    return {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion",
            "created": int(time.time()), "model": model_name, "choices": choices,
            "usage": usage(lengths, results)}

  return app
