"""Target texts (what the student learns to write) and reasoning extraction (pure functions)."""
from __future__ import annotations

import re

REASON_HEADER = "### Reason ###"
RATING_HEADER = "### Rating ###"

_REASON_RE = re.compile(r"#+\s*Reason\s*#+", re.IGNORECASE)
_RATING_RE = re.compile(r"#+\s*Rating\s*#+", re.IGNORECASE)


def reasoning_target(reasoning: str, rating: int) -> str:
  """'### Reason ###\\n{reasoning}\\n### Rating ###\\n{rating}' with the TRUE rating."""
  return f"{REASON_HEADER}\n{reasoning.strip()}\n{RATING_HEADER}\n{int(rating)}"


def rating_target(rating: int) -> str:
  """'### Rating ###\\n{rating}': the rating-only student writes just the rating part."""
  return f"{RATING_HEADER}\n{int(rating)}"


def extract_reasoning(answer: str) -> str:
  """The reasoning part of a teacher answer.

  Text after the first "### Reason ###" marker (or from the start when there is none) up to the
  first "### Rating ###" marker after it (or the end). Whitespace is stripped; the teacher's own
  rating never leaks into a target because the rating part is cut off.
  """
  start = 0
  m = _REASON_RE.search(answer)
  if m:
    start = m.end()
  end = len(answer)
  r = _RATING_RE.search(answer, start)
  if r:
    end = r.start()
  return answer[start:end].strip()
