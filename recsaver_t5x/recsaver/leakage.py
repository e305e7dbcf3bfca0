"""Leakage removal for Rec-SAVER post-hoc explanations (the study's Algorithm 1, step 2).

A post-hoc explanation is written with the true rating in the prompt, so it often states it
("The user gave a rating of 5 because ..."). Such a sentence would let the verifier, and any
metric against the reference, read the answer instead of reasoning to it. The text is split
into sentences and a sentence is dropped when it

- contains "a rating of" (the study's rule),
- mentions "stars" (the study's rule; also "N-star"/"N star" with a number),
- mentions "score" or "scores" (the study's rule; also "scored"/"scoring"),
- or states the true rating outright: "5/5", "5 out of 5", "rated it 5", "give it a five",
  "rating: 5", "a 5 rating", "5-point", or the number alone ("5", "**5**"). Other numbers
  ("rated similar items 4" when the truth is 5, prices, counts) do not trigger this rule.

The rules are deliberately conservative: a false positive costs one sentence of a reference, a
false negative leaks the label. Note that "stars" also drops "the film stars X" (as in the
study). Removed sentences are kept, with the rule that removed them, for audit.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

# Abbreviations whose final period does not end a sentence (lower-cased, without the period).
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "vs", "approx", "mr", "mrs", "ms", "dr", "prof", "st", "no", "vol",
    "fig", "incl", "esp", "jr", "sr", "inc", "ltd", "co", "oz", "fl", "ml", "min", "max"})
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]*]*(?=\s)|\n")
_LAST_WORD = re.compile(r"([A-Za-z](?:\.[A-Za-z])*\.?|\w+)\.?$")

_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
                 8: "eight", 9: "nine", 10: "ten"}  # up to ten: EXP3RT's 1..10 scales
_RATING_VERB = (r"(?:rat(?:e|es|ed|ing|ings)|gave|give|gives|giving|given|assign(?:s|ed|ing)?|"
                r"award(?:s|ed|ing)?|predict(?:s|ed|ing|ion)?)")
_FIXED_RULES: tuple[tuple[str, re.Pattern], ...] = (
    ("'a rating of'", re.compile(r"\ba\s+rating\s+of\b", re.IGNORECASE)),
    ("mentions stars", re.compile(
        r"\bstars\b|\b(?:\d(?:\.\d)?|one|two|three|four|five)[\s-]*star\b", re.IGNORECASE)),
    ("mentions score", re.compile(r"\bscor(?:e|es|ed|ing)\b", re.IGNORECASE)),
)


def _number(rating: int) -> str:
  """The true rating as a number: '5', '5.0', 'five' (not part of 15, 4.5, $5 or 5.5)."""
  digits = rf"(?<![\w.$]){rating}(?:\.0+)?(?![\w]|\.\d)"
  word = _NUMBER_WORDS.get(rating)
  return rf"(?:{digits}|\b{word}\b)" if word else digits


def _rating_rules(rating: int) -> tuple[tuple[str, re.Pattern], ...]:
  n = _number(rating)
  why = f"states the true rating {rating}"
  flags = re.IGNORECASE
  return (
      (why, re.compile(rf"^[\W_]*{n}[\W_]*$", flags)),  # the rating alone: "5", "**5**", "5."
      (why, re.compile(rf"{n}\s*(?:/|out\s+of)\s*(?:5|five|10|ten)\b", flags)),
      # "rated it 5", "gave this product a five", "rating is 5", "Rating: 5", "predicted 5".
      (why, re.compile(rf"\b{_RATING_VERB}\b[^\w.!?]*(?:\w+[^\w.!?]+){{0,4}}?{n}", flags)),
      # "a 5 rating", "5-point", "a solid 5 as the rating".
      (why, re.compile(rf"{n}[^\w.!?]*(?:\w+[^\w.!?]+){{0,2}}?(?:rating|point)s?\b", flags)),
  )


@dataclasses.dataclass(frozen=True)
class RemovedSentence:
  """A sentence dropped from an explanation and the rule that dropped it."""

  text: str
  reason: str


@dataclasses.dataclass(frozen=True)
class CleanedExplanation:
  """An explanation after leakage removal.

  Attributes:
    text: the kept sentences, joined with their original separators.
    removed: the dropped sentences, in order, with reasons (for audit).
    original: the text before cleaning.
  """

  text: str
  removed: tuple[RemovedSentence, ...]
  original: str

  def to_dict(self) -> dict[str, Any]:
    return {"text": self.text, "original": self.original,
            "removed": [dataclasses.asdict(r) for r in self.removed]}

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "CleanedExplanation":
    return cls(d["text"], tuple(RemovedSentence(**r) for r in d.get("removed", ())),
               d.get("original", d["text"]))


def split_sentences(text: str) -> list[tuple[str, str]]:
  """Sentences with the whitespace that follows each: `"".join(s + ws) == text`.

  A sentence ends at '.', '!' or '?' (with closing quotes/brackets) before whitespace, unless
  the period ends a known abbreviation ("e.g.", "Dr.") or an initialism ("U.S."), and at every
  line break (lists, bullet points).
  """
  pieces: list[tuple[str, str]] = []
  start = 0
  for m in _BOUNDARY.finditer(text):
    if m.group() != "\n":
      word = _LAST_WORD.search(text[start:m.start()] + ".")
      token = word.group(1).rstrip(".").lower() if word else ""
      if token in _ABBREVIATIONS or re.fullmatch(r"[a-z](?:\.[a-z])+", token):
        continue
    end = m.end() if m.group() != "\n" else m.start()
    ws_end = end
    while ws_end < len(text) and text[ws_end].isspace():
      ws_end += 1
    if text[start:end].strip():
      pieces.append((text[start:end], text[end:ws_end]))
    elif pieces:  # blank line: its whitespace belongs to the previous separator
      pieces[-1] = (pieces[-1][0], pieces[-1][1] + text[start:ws_end])
    start = ws_end
  if start < len(text):
    tail = text[start:]
    if tail.strip():
      pieces.append((tail, ""))
    elif pieces:
      pieces[-1] = (pieces[-1][0], pieces[-1][1] + tail)
  return pieces


def leak_reason(sentence: str, true_rating: Optional[int]) -> Optional[str]:
  """Why `sentence` leaks the rating, or None if it does not."""
  for why, pattern in _FIXED_RULES:
    if pattern.search(sentence):
      return why
  if true_rating is not None:
    for why, pattern in _rating_rules(int(true_rating)):
      if pattern.search(sentence):
        return why
  return None


def remove_leakage(text: str, true_rating: Optional[int]) -> CleanedExplanation:
  """Drops leaking sentences from `text` (see the module docstring)."""
  kept: list[tuple[str, str]] = []
  removed: list[RemovedSentence] = []
  for sentence, ws in split_sentences(text):
    why = leak_reason(sentence, true_rating)
    if why:
      removed.append(RemovedSentence(sentence.strip(), why))
      if kept and ws.count("\n") > kept[-1][1].count("\n"):
        kept[-1] = (kept[-1][0], ws)  # keep a line/paragraph break that followed a dropped one
    else:
      kept.append((sentence, ws))
  cleaned = "".join(s + ws for s, ws in kept).strip()
  return CleanedExplanation(cleaned, tuple(removed), text)
