"""Robust parsing of a teacher's answer into a rating on the domain's scale (default 1..5), or an
explicit unparsed result.

The rating is read after the last "### Rating ###" header (tolerating what real models write:
"4/5", "Rating: 4", "4.0", "**4**", "4 stars", trailing text). Without a header, only an answer
that is nothing but a rating is accepted. Everything else is unparsed, with the reason, so that
unparsed answers are counted, never silently guessed.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any, Optional, Sequence

from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale

# "### Rating ###", "###Rating", "## Rating:", "**### Rating ###**" (anywhere in a line).
_HASH_RATING = re.compile(r"#{2,}[ \t*_]*rating\b[ \t*_]*#*[ \t*_]*:?[ \t*_]*", re.IGNORECASE)
# "Rating: 4", "**Rating:** 4", "Final rating: 4", "Predicted Rating - 4" at the start of a line.
_COLON_RATING = re.compile(
    r"^[ \t>*_-]*(?:(?:final|predicted|numerical|overall)[ \t]+)?rating[ \t*_]*[:=-][ \t*_]*",
    re.IGNORECASE | re.MULTILINE)
_HASH_REASON = re.compile(r"#{2,}[ \t*_]*(?:reason|reasoning|explanation)\b[ \t*_]*#*[ \t*_]*:?",
                          re.IGNORECASE)
_NEXT_HEADER = re.compile(r"^[ \t*_]*#{2,}", re.MULTILINE)
# A number with its sign, optionally followed by its scale ("4/5", "4 out of 5", "4 (out of 5)").
# The sign is part of the number ("-1" is minus one, outside the scale, never 1); a minus sign
# after a word or digit is a dash ("Rating - 4", "4-5") and is not taken.
_NUMBER = re.compile(
    r"(?<![\w.])([-+\u2212]?\d+(?:\.\d+)?)(?:[ \t]*(?:/|\(?[ \t]*out[ \t]+of)[ \t]*(\d+(?:\.\d+)?))?(?![\d])")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
# An answer that is only a rating: "4", "**4**", "4/5", "4.0 stars", "Rating: 4".
_BARE = re.compile(
    r"^[\s*_`\"'(\[]*(?:rating[\s*_]*[:=-]?[\s*_]*)?([-+\u2212]?\d{1,2}(?:\.0+)?)"
    r"(?:\s*(?:/|out of)\s*(\d{1,2}))?(?:\s*stars?)?[\s*_`\"')\].!]*$", re.IGNORECASE)
# The model repeated the format instructions instead of answering.
_TEMPLATE_ECHO = re.compile(r"give a single numerical rating", re.IGNORECASE)
_LINES_SCANNED = 3
_JSON_RATING = re.compile(r'"rating"\s*:\s*"?(\d)')  # the offset of its first digit


@dataclasses.dataclass(frozen=True)
class ParsedAnswer:
  """A parsed teacher answer.

  Attributes:
    rating: a value of the scale, or None when the answer could not be parsed.
    unparsed_reason: why `rating` is None (None when parsed).
    explanation: the reasoning text (the "### Reason ###" section, or the text before the rating
      header), or None.
    rating_offset: character offset of the rating in the answer text (for token logprobs).
  """

  rating: Optional[int]
  unparsed_reason: Optional[str] = None
  explanation: Optional[str] = None
  rating_offset: Optional[int] = None

  @property
  def parsed(self) -> bool:
    return self.rating is not None


def _unparsed(reason: str, explanation: Optional[str] = None) -> ParsedAnswer:
  return ParsedAnswer(None, reason, explanation)


def _number(raw: str) -> float:
  return float(raw.replace("\u2212", "-"))  # U+2212 is the typographic minus sign


def _check_value(raw: str, out_of: Optional[str], scale: RatingScale
                 ) -> tuple[Optional[int], Optional[str]]:
  if out_of is not None and float(out_of) != scale.high:
    return None, f"rating '{raw}/{out_of}' is not on the {scale.low}..{scale.high} scale"
  value = _number(raw)
  if value != math.floor(value):
    return None, f"non-integer rating {raw}"
  if int(value) not in scale:
    return None, f"rating {raw} outside {scale.low}..{scale.high}"
  return int(value), None


def _rating_in_segment(text: str, start: int, scale: RatingScale
                       ) -> tuple[Optional[int], Optional[str], Optional[int]]:
  """The rating in text[start:] up to the next header: (rating, unparsed reason, offset)."""
  nxt = _NEXT_HEADER.search(text, start)
  end = nxt.start() if nxt else len(text)
  segment = text[start:end]
  if _TEMPLATE_ECHO.search(segment):
    return None, "the answer repeats the format instructions instead of a rating", None
  pos = start
  scanned = 0
  for line in segment.split("\n"):
    line_start = pos
    pos += len(line) + 1
    if not line.strip():
      continue
    scanned += 1
    found = list(_NUMBER.finditer(line))
    if found:
      values = {_number(m.group(1)) for m in found}
      if len(values) > 1:
        return None, f"several numbers after the rating header: {line.strip()[:60]!r}", None
      m = found[0]
      rating, why = _check_value(m.group(1), m.group(2), scale)
      return rating, why, line_start + m.start(1) if rating is not None else None
    words = {w.lower() for w in _WORD.findall(line)}
    if len(words) == 1:
      m = _WORD.search(line)
      rating, why = _check_value(str(_WORDS[words.pop()]), None, scale)
      return rating, why, line_start + m.start(1) if rating is not None else None
    if len(words) > 1:
      return None, f"several number words after the rating header: {line.strip()[:60]!r}", None
    if scanned >= _LINES_SCANNED:
      break
  return None, "no number after the rating header", None


def _parse_json(text: str, scale: RatingScale) -> Optional[ParsedAnswer]:
  body = text.strip()
  if body.startswith("```"):
    body = body.strip("`").strip()
    if body[:4].lower() == "json":
      body = body[4:].strip()
  if not body.startswith("{"):
    return None
  try:
    obj = json.loads(body, strict=False)  # servers emit raw newlines inside strings
  except ValueError:
    return None
  if not isinstance(obj, dict) or "rating" not in obj:
    return None
  expl = next((obj[k] for k in ("reason", "reasoning", "explanation") if isinstance(obj.get(k), str)),
              None)
  raw = obj["rating"]
  if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
    return _unparsed(f"JSON rating {raw!r} is not a number", expl)
  m = _NUMBER.fullmatch(str(raw).strip())
  if not m:
    return _unparsed(f"JSON rating {raw!r} is not a number", expl)
  rating, why = _check_value(m.group(1), m.group(2), scale)
  at = _JSON_RATING.search(text)
  return ParsedAnswer(rating, why, expl, at.start(1) if (rating is not None and at) else None)


def _explanation(text: str, rating_header_start: int) -> Optional[str]:
  head = text[:rating_header_start]
  reasons = list(_HASH_REASON.finditer(head))
  body = head[reasons[-1].end():] if reasons else head
  body = body.strip().strip("*").strip()
  return body or None


def parse_answer(text: Optional[str], scale: RatingScale = DEFAULT_SCALE) -> ParsedAnswer:
  """Parse a teacher answer. Never raises; an unusable answer gives rating None and the reason.

  Ratings outside `scale` (and "N/M" with M other than the scale's top) are unparsed, not clipped.
  """
  if text is None or not text.strip():
    return _unparsed("empty answer")
  as_json = _parse_json(text, scale)
  if as_json is not None:
    return as_json
  headers = list(_HASH_RATING.finditer(text)) or list(_COLON_RATING.finditer(text))
  if headers:
    header = headers[-1]
    rating, why, offset = _rating_in_segment(text, header.end(), scale)
    return ParsedAnswer(rating, why, _explanation(text, header.start()), offset)
  bare = _BARE.match(text)
  if bare:
    rating, why = _check_value(bare.group(1), bare.group(2), scale)
    return ParsedAnswer(rating, why, None, bare.start(1) if rating is not None else None)
  return _unparsed("no '### Rating ###' section in the answer")


def rating_probs(content: Optional[Sequence[dict[str, Any]]], answer: ParsedAnswer,
                 scale: RatingScale = DEFAULT_SCALE) -> Optional[tuple[float, ...]]:
  """P(rating = v) for v in `scale` from token logprobs at the rating's position, renormalised.

  `content` is the OpenAI chat format: [{"token", "logprob", "top_logprobs": [{"token",
  "logprob"}]}], whose tokens concatenate to the answer text. None when the answer has no
  parsed rating, no logprobs were returned, or the rating token cannot be located.
  """
  if not content or answer.rating_offset is None:
    return None
  pos = 0
  for tok in content:
    token = tok.get("token", "")
    if pos <= answer.rating_offset < pos + len(token):
      mass = [0.0] * len(scale)
      candidates = list(tok.get("top_logprobs") or []) + [tok]
      seen = set()
      for cand in candidates:
        raw = str(cand.get("token", ""))
        if raw in seen or cand.get("logprob") is None:
          continue
        seen.add(raw)  # " 4" and "4" are distinct tokens: both carry mass for rating 4
        t = raw.strip()
        if t.isdigit() and int(t) in scale:
          mass[scale.index(int(t))] += math.exp(float(cand["logprob"]))
      total = sum(mass)
      return tuple(m / total for m in mass) if total > 0 else None
    pos += len(token)
  return None
