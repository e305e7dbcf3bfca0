"""A deterministic OpenAI-compatible EXP3RT teacher on 127.0.0.1 (real sockets and HTTP).

The answer is a pure function of the prompt, so tests can check bookkeeping exactly:
- extraction: the review's first words become a Like (the review is quoted in the prompt);
- profiles: the first bullet of each listed review, at most 5 per side;
- rationale: one sentence naming the profiles, one sentence stating the rating (the leakage
  filter must remove it);
- verification: the rating is the rounded user average line of the prompt (so some rationales
  verify and some are rejected, as with a real teacher).
"""
from __future__ import annotations

import re

from tests import loopback_teacher


def answer(prompt: str) -> str:
  if prompt.startswith("A user wrote this review"):
    text = re.search(r':\n"(.*?)"\n\nList', prompt, re.S).group(1)
    words = " ".join(text.split()[:6]) or "nothing"
    return f"Here you go:\n[Like]\n- {words}\n[Dislike]\n- None."
  if prompt.startswith("Preferences extracted from"):
    likes = re.findall(r"\[Like\]\n- (.+)", prompt)[:5]
    return "[Like]\n" + "\n".join(f"- {x}" for x in likes) + "\n[Dislike]\n- None."
  m = re.search(r"The user rated this .+? (\d+) \(of", prompt)
  if m and "### Explanation ###" not in prompt:
    return (f"### Reason ###\nThe user profile and the item profile agree.\n"
            f"So the user gave it a rating of {m.group(1)}.")
  avg = re.search(r"### User Profile ###.*?Average rating: ([\d.]+|unknown)", prompt, re.S)
  rating = 3 if avg is None or avg.group(1) == "unknown" else int(float(avg.group(1)) + 0.5)
  return f"### Rating ###\n{rating}"


RuleTeacher = loopback_teacher.make(answer)
