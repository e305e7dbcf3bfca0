"""A deterministic OpenAI-compatible teacher on 127.0.0.1 for Algorithm 1's bookkeeping tests.

Real sockets and HTTP; the answer depends only on the prompt, so each path of Algorithm 1
(verified, rejected, empty after leakage removal, unparsed verification) is reached on purpose:
- explanation prompts: the new item's title names a script ("praise", "empty", "unsure");
- verification prompts: "praise" in the explanation -> rating 5, "unsure" -> no rating.
The real teacher (llama.cpp with SmolLM2) is exercised by the slow tests.
"""
from __future__ import annotations

import re

from tests import loopback_teacher

EXPLAIN = {
    "praise": ("### Reason ###\nThe user gave a rating of {r} because the conditioner fits. "
               "Past reviews praise gentle, fragrance-free hair care.\nThey buy Acme often.\n"
               "### Rating ###\n{r}"),
    "empty": "### Reason ###\nThe user gave a rating of {r}. Definitely {r} stars.",
    "unsure": "### Reason ###\nThe user is unsure about conditioners; the history is mixed.",
}


def answer(prompt: str) -> str:
  if "### Explanation: ###" in prompt:  # verification
    explanation = prompt.split("### Explanation: ###", 1)[1]
    if "praise" in explanation:
      return "### Rating ###\n5"
    return "I cannot tell from this information."
  rating = re.search(r"The user rated the new \w+ (\d)", prompt).group(1)
  title = re.search(r"New Product\nProduct Title: (\w+)", prompt).group(1)
  return EXPLAIN[title].format(r=rating)


class ScriptedTeacher(loopback_teacher.make(answer)):
  def __init__(self, model: str = "scripted"):
    super().__init__(model)
