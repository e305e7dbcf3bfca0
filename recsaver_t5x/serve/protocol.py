"""OpenAI request bodies (pydantic) and the response pieces built from decoded rows.

Fields OpenAI defines but a T5 student cannot honour (streaming, penalties, top_p < 1,
response_format, echo, best_of) are refused with a 400 naming the field, never silently
ignored; unknown extra fields (client metadata such as `user`) are ignored as OpenAI does.
Extensions: `top_k` (sample from the k most likely tokens) and, in every choice, `recsaver`: the
rating-token distribution over the scale, the expected rating and the parsed rating.
"""
from __future__ import annotations

import math
from typing import Literal, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_N = 16
MAX_STOP = 4


class _Common(BaseModel):
  model_config = ConfigDict(extra="ignore")

  model: str = Field(min_length=1)
  max_tokens: Optional[int] = Field(default=None, ge=1)
  temperature: float = Field(default=1.0, ge=0.0, le=2.0)
  top_p: Optional[float] = Field(default=None, gt=0.0, le=1.0)
  top_k: int = Field(default=0, ge=0)
  n: int = Field(default=1, ge=1, le=MAX_N)
  stop: Optional[Union[str, list[str]]] = None
  seed: Optional[int] = None
  stream: bool = False
  presence_penalty: float = 0.0
  frequency_penalty: float = 0.0
  response_format: Optional[dict] = None

  @field_validator("stop")
  @classmethod
  def _stop(cls, v):
    if v is None:
      return None
    v = [v] if isinstance(v, str) else v
    if len(v) > MAX_STOP:
      raise ValueError(f"at most {MAX_STOP} stop sequences")
    if any(not s for s in v):
      raise ValueError("stop sequences must be non-empty")
    return v

  @model_validator(mode="after")
  def _unsupported(self):
    if self.stream:
      raise ValueError("stream: streaming is not supported by this server; send stream=false")
    if self.top_p is not None and self.top_p < 1.0:
      raise ValueError("top_p: nucleus sampling is not supported; use top_k (extension) or "
                       "temperature")
    if self.presence_penalty or self.frequency_penalty:
      raise ValueError("presence_penalty/frequency_penalty are not supported")
    if self.response_format and self.response_format.get("type") not in (None, "text"):
      raise ValueError("response_format: constrained (JSON) output is not supported by a T5 "
                       "student; it answers in its trained '### Reason ### ... ### Rating ###' "
                       "format")
    return self

  @property
  def stops(self) -> list[str]:
    return list(self.stop or [])


class ChatMessage(BaseModel):
  model_config = ConfigDict(extra="ignore")
  role: Literal["system", "user", "assistant", "developer", "tool"]
  content: Union[str, list[dict]]

  def text(self) -> str:
    if isinstance(self.content, str):
      return self.content
    parts = []
    for p in self.content:  # OpenAI content parts: only text parts make sense for T5
      if p.get("type") != "text" or not isinstance(p.get("text"), str):
        raise ValueError("content parts must be {'type': 'text', 'text': ...}")
      parts.append(p["text"])
    return "".join(parts)


class ChatCompletionRequest(_Common):
  messages: list[ChatMessage] = Field(min_length=1)
  logprobs: bool = False
  top_logprobs: Optional[int] = Field(default=None, ge=0, le=20)

  @model_validator(mode="after")
  def _check(self):
    if self.top_logprobs is not None and not self.logprobs:
      raise ValueError("top_logprobs needs logprobs=true")
    for m in self.messages:
      m.text()
    return self

  def prompt_text(self) -> str:
    """The student's input: T5 is not a chat model, so the message contents are joined by
    blank lines in order (a single user message is used as is)."""
    return "\n\n".join(m.text() for m in self.messages)


class CompletionRequest(_Common):
  prompt: Union[str, list[str]]
  logprobs: Optional[int] = Field(default=None, ge=0, le=5)
  echo: bool = False
  best_of: Optional[int] = None

  @field_validator("prompt")
  @classmethod
  def _prompt(cls, v):
    if isinstance(v, list) and not v:
      raise ValueError("prompt list is empty")
    return v

  @model_validator(mode="after")
  def _check(self):
    if self.echo:
      raise ValueError("echo: not supported")
    if self.best_of not in (None, 1):
      raise ValueError("best_of: not supported")
    return self

  @property
  def prompts(self) -> list[str]:
    return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


# ------------------------------------------------------------------------- responses
def apply_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
  """Text cut before the earliest stop sequence, and whether one was found."""
  cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
  return (text[:cut], True) if cut >= 0 else (text, False)


def token_texts(decode, tokens: Sequence[int], text: str) -> list[str]:
  """Per-token strings whose concatenation is exactly `text` (a prefix of the full decode).

  Each token's string is what decoding it adds to the decode of the tokens before it;
  SentencePiece may merge bytes across pieces, in which case the extra goes to the next token.
  """
  out, emitted = [], ""
  for i in range(len(tokens)):
    cur = decode(tokens[:i + 1])
    piece = cur[len(emitted):] if cur.startswith(emitted) else ""
    if len(emitted) + len(piece) > len(text):
      piece = text[len(emitted):]
    out.append(piece)
    emitted += piece
    if len(emitted) >= len(text):
      break
  if out and emitted != text:
    out[-1] += text[len(emitted):]
  return out


def _finite(x: float) -> float:
  return x if math.isfinite(x) else -9999.0  # JSON has no -inf


def chat_logprobs(pieces: Sequence[str], token_lp: Sequence[float], tops, top_n: int,
                  piece_text) -> dict:
  """OpenAI chat `logprobs` ({"content": [...]}), tokens concatenating to the message text."""
  content = []
  for j, piece in enumerate(pieces):
    content.append({
        "token": piece, "logprob": _finite(token_lp[j]), "bytes": list(piece.encode()),
        "top_logprobs": [{"token": piece_text(t), "logprob": _finite(l),
                          "bytes": list(piece_text(t).encode())} for t, l in tops[j][:top_n]]})
  return {"content": content}


def completion_logprobs(pieces: Sequence[str], token_lp: Sequence[float], tops, top_n: int,
                        piece_text) -> dict:
  """Legacy completions `logprobs` (tokens, token_logprobs, top_logprobs, text_offset)."""
  offsets, pos = [], 0
  for p in pieces:
    offsets.append(pos)
    pos += len(p)
  top = []
  for j in range(len(pieces)):
    d: dict = {}
    for t, l in tops[j][:top_n]:
      d.setdefault(piece_text(t), _finite(l))
    top.append(d)
  return {"tokens": list(pieces), "token_logprobs": [_finite(x) for x in token_lp[:len(pieces)]],
          "top_logprobs": top, "text_offset": offsets}
