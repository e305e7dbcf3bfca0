"""The [Like] / [Dislike] bullet format of preferences and profiles (parse and render).

    [Like]
    - the articles are thoughtful
    [Dislike]
    - None.

Parsing is lenient (markdown bold, "Likes:", "*" or numbered bullets); rendering is canonical, so
student targets always have one layout. A side with nothing is "None.".
"""
from __future__ import annotations

import dataclasses
import re
from typing import Optional

NONE = "None."
_HEADER = re.compile(r"^[\W_]*(dislikes?|likes?)\b[\]*_:\s]*(.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


@dataclasses.dataclass(frozen=True)
class Preferences:
  """Liked and disliked aspects; `parsed` is False when no [Like]/[Dislike] header was found."""

  like: tuple[str, ...] = ()
  dislike: tuple[str, ...] = ()
  parsed: bool = True

  def capped(self, n: int) -> "Preferences":
    return Preferences(self.like[:n], self.dislike[:n], self.parsed)

  def render(self) -> str:
    def side(name: str, xs: tuple[str, ...]) -> str:
      return f"[{name}]\n" + ("\n".join(f"- {x}" for x in xs) if xs else f"- {NONE}")
    return side("Like", self.like) + "\n" + side("Dislike", self.dislike)

  @property
  def empty(self) -> bool:
    return not self.like and not self.dislike


def _clean(item: str) -> Optional[str]:
  item = _BULLET.sub("", item).strip().strip("*").strip()
  if not item or item.rstrip(".").lower() in ("none", "n/a", "nothing"):
    return None
  return item


def parse(text: Optional[str]) -> Preferences:
  """Preferences from a teacher or student answer (see module docstring)."""
  like: list[str] = []
  dislike: list[str] = []
  side: Optional[list[str]] = None
  found = False
  for raw in (text or "").splitlines():
    line = raw.strip()
    if not line:
      continue
    m = _HEADER.match(line)
    if m:
      found = True
      side = dislike if m.group(1).lower().startswith("dis") else like
      rest = _clean(m.group(2))
      if rest:
        side.append(rest)
      continue
    if side is None:
      continue
    if re.match(r"^\W*average rating", line, re.IGNORECASE):
      break  # a profile's rating line is ours to add, not the model's
    item = _clean(line)
    if item and item not in side:
      side.append(item)
  return Preferences(tuple(like), tuple(dislike), found)
