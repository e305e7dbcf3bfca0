"""Teacher jobs of the EXP3RT steps, keyed in the toolkit's sample store.

Store keys (example_id field, variant):
  (review_id,  "exp3rt_extract")                 one per review, T = 0.1 by default
  (example_id, "exp3rt_user_profile")            one per example (its time bounds the profile)
  (example_id, "exp3rt_item_profile:<criterion>")
  (example_id, "exp3rt_rationale")               given the true rating
  (example_id, "exp3rt_verify@T=<t>")            self-verification of the cleaned rationale
A stored answer made from a different prompt text is refused (sampler._check_stale), so a rerun
with other caps or data needs a new store, never silently mixes answers.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from recsaver_t5x.teacher.client import ChatRequest
from recsaver_t5x.teacher.sampler import Job, derive_seed
from recsaver_t5x.teacher.store import SampleKey

EXTRACT = "exp3rt_extract"
USER_PROFILE = "exp3rt_user_profile"
ITEM_PROFILE = "exp3rt_item_profile"
RATIONALE = "exp3rt_rationale"
VERIFY = "exp3rt_verify"


@dataclasses.dataclass(frozen=True)
class CallConfig:
  """Temperature and length of one kind of call (EXP3RT: T = 0.1, ~200 tokens)."""

  temperature: float = 0.1
  max_tokens: int = 200
  base_seed: int = 0


def item_variant(criterion: str) -> str:
  return f"{ITEM_PROFILE}:{criterion}"


def verify_variant(rationale_temperature: float) -> str:
  return f"{VERIFY}@T={float(rationale_temperature):g}"


def key(item_id: str, variant: str, model: str, cfg: CallConfig) -> SampleKey:
  return SampleKey(item_id, variant, model, float(cfg.temperature), 0)


def job(item_id: str, variant: str, prompt: str, model: str, cfg: CallConfig,
        extra: dict | None = None) -> Job:
  """One single-turn request for `prompt`, stored under (item_id, variant, model, T, 0)."""
  k = key(item_id, variant, model, cfg)
  messages = ({"role": "user", "content": prompt},)
  sha = hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
  req = ChatRequest(messages=messages, temperature=cfg.temperature,
                    seed=derive_seed(k, cfg.base_seed), max_tokens=cfg.max_tokens)
  return Job(k, req, sha, dict(extra or {}))
