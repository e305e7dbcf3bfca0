"""Constrained teacher output: the server may only write answers the parser reads.

Three answer shapes, one per teacher call kind:
  * "reason_rating" - zero-shot reasoning variants and training samples:
      "### Reason ###\\n<reason>\\n### Rating ###\\nN"
  * "rating"        - zero-shot without reasoning, and self-verification: "### Rating ###\\nN"
  * "reason"        - post-hoc explanations (the rating is given): "### Reason ###\\n<reason>"
N is restricted to the domain's `RatingScale`. The reason has no '#' (no header of its own) and
at most `max_reason_chars` characters, fewer than the answer's max_tokens (a token is at least
one character), so a constrained answer always ends with its rating instead of being cut off.

Three ways to ask, by what the server understands:
  * "grammar" - a GBNF grammar in the request's `grammar` field (llama.cpp, llama-cpp-python);
  * "regex"   - the same language as a regular expression (vLLM: `structured_outputs.regex`,
                older vLLM: `guided_regex`);
  * "json"    - a JSON-schema `response_format` (hosted APIs); the JSON answer is rewritten into
                the study's text format before it is stored, the raw answer kept beside it.
"auto" picks grammar for llama.cpp servers (the embedded one), regex for vLLM, json otherwise.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, Optional

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale

MODES = ("off", "auto", "grammar", "regex", "json")
SHAPES = ("reason_rating", "rating", "reason")
REASON_HEADER = "### Reason ###"
RATING_HEADER = "### Rating ###"
# answer tokens that are not the reason: headers, newlines, the rating, EOS
_OVERHEAD_TOKENS = 24

SERVER_MODES = {"llama.cpp": "grammar", "vllm": "regex"}


def max_reason_chars(max_tokens: int) -> int:
  """The longest reason that still leaves room for the rating within `max_tokens`."""
  return max(8, int(max_tokens) - _OVERHEAD_TOKENS)


def _ratings(scale: RatingScale) -> list[str]:
  return [str(v) for v in scale.values]


def gbnf(shape: str, scale: RatingScale = DEFAULT_SCALE, reason_chars: int = 488) -> str:
  """A llama.cpp GBNF grammar of the answer shape."""
  rating = " | ".join(json.dumps(v) for v in _ratings(scale))
  reason = f"[^#\\n] [^#]{{0,{reason_chars - 1}}}"
  rules = {"reason_rating": f'root ::= "{REASON_HEADER}\\n" reason "\\n{RATING_HEADER}\\n" rating',
           "rating": f'root ::= "{RATING_HEADER}\\n" rating',
           "reason": f'root ::= "{REASON_HEADER}\\n" reason'}[_check_shape(shape)]
  return f"{rules}\nreason ::= {reason}\nrating ::= {rating}\n"


def regex(shape: str, scale: RatingScale = DEFAULT_SCALE, reason_chars: int = 488) -> str:
  """The same language as a regular expression (vLLM structured outputs)."""
  rating = "(" + "|".join(_ratings(scale)) + ")"
  reason = f"[^#\\n][^#]{{0,{reason_chars - 1}}}"
  r, h = re.escape(REASON_HEADER), re.escape(RATING_HEADER)
  return {"reason_rating": f"{r}\\n{reason}\\n{h}\\n{rating}", "rating": f"{h}\\n{rating}",
          "reason": f"{r}\\n{reason}"}[_check_shape(shape)]


def json_schema(shape: str, scale: RatingScale = DEFAULT_SCALE, reason_chars: int = 488) -> dict:
  """JSON answer: {"reason": ..., "rating": N}, reason first (the model reasons, then rates)."""
  props: dict[str, Any] = {}
  if shape in ("reason_rating", "reason"):
    props["reason"] = {"type": "string", "minLength": 1, "maxLength": reason_chars}
  if shape in ("reason_rating", "rating"):
    props["rating"] = {"type": "integer", "enum": list(scale.values)}
  _check_shape(shape)
  return {"type": "object", "properties": props, "required": list(props),
          "additionalProperties": False}


def _check_shape(shape: str) -> str:
  if shape not in SHAPES:
    raise ValueError(f"unknown answer shape {shape!r}; one of {SHAPES}")
  return shape


@dataclasses.dataclass(frozen=True)
class Constraint:
  """A resolved constraint (mode grammar, regex or json) for one answer shape."""

  mode: str
  shape: str
  scale: RatingScale = DEFAULT_SCALE
  reason_chars: int = 488

  def __post_init__(self):
    if self.mode not in ("grammar", "regex", "json"):
      raise ValueError(f"a Constraint's mode is grammar, regex or json, not {self.mode!r}")
    _check_shape(self.shape)

  @classmethod
  def for_tokens(cls, mode: str, shape: str, max_tokens: int,
                 scale: RatingScale = DEFAULT_SCALE) -> "Constraint":
    return cls(mode, shape, scale, max_reason_chars(max_tokens))

  def request_fields(self) -> dict[str, Any]:
    """Fields to add to the chat/completions body."""
    args = (self.shape, self.scale, self.reason_chars)
    if self.mode == "grammar":
      return {"grammar": gbnf(*args)}
    if self.mode == "regex":
      pattern = regex(*args)
      return {"structured_outputs": {"regex": pattern}, "guided_regex": pattern}
    schema = json_schema(*args)
    # llama-cpp-python reads "schema", OpenAI and vLLM read "json_schema"
    return {"response_format": {"type": "json_object", "schema": schema,
                                "json_schema": {"name": self.shape, "schema": schema,
                                                "strict": True}}}

  def spec(self) -> str:
    """What changes the answers: part of the sample-store identity of a constrained prompt."""
    return json.dumps([self.mode, self.shape, self.scale.to_dict(), self.reason_chars],
                      sort_keys=True)

  def fingerprint(self, prompt_sha256: str) -> str:
    return hashlib.sha256(f"{prompt_sha256}|constrained:{self.spec()}".encode()).hexdigest()


def to_study_text(text: str) -> Optional[str]:
  """A JSON answer {"reason", "rating"} in the study's text format; None if it is not one."""
  try:
    obj = json.loads(text)
  except (ValueError, TypeError):
    return None
  if not isinstance(obj, dict) or not ({"reason", "rating"} & set(obj)):
    return None
  parts = []
  if "reason" in obj:
    parts.append(f"{REASON_HEADER}\n{str(obj['reason']).strip()}")
  if "rating" in obj:
    parts.append(f"{RATING_HEADER}\n{obj['rating']}")
  return "\n".join(parts)


def server_kind(models_body: Any) -> str:
  """'llama.cpp', 'vllm' or 'other', from a GET /v1/models answer (its `owned_by` fields)."""
  owners = set()
  if isinstance(models_body, dict):
    for m in models_body.get("data") or []:
      if isinstance(m, dict):
        owners.add(str(m.get("owned_by", "")).lower())
  if "vllm" in owners:
    return "vllm"
  # llama.cpp's server says "llamacpp"; llama-cpp-python's says "me"
  if owners & {"llamacpp", "llama.cpp", "me"}:
    return "llama.cpp"
  return "other"


def resolve_mode(requested: str, kind: str) -> Optional[str]:
  """The mode to use (None: unconstrained) for `--constrained requested` on a `kind` server."""
  if requested not in MODES:
    raise UserFacingError(f"--constrained {requested!r}: use one of {', '.join(MODES)}")
  if requested == "off":
    return None
  if requested == "auto":
    return SERVER_MODES.get(kind, "json")
  return requested
