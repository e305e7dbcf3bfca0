"""Rec-SAVER verified references: the study's Algorithm 1.

For each example:
1. N post-hoc explanations at temperature T from the teacher, with the true rating in the
   prompt (`prompts.explain_prompt`).
2. Leakage removal (`leakage.remove_leakage`); the removed sentences are kept for audit. An
   explanation with nothing left is rejected without a verification call.
3. Self-verification: one call per cleaned explanation with history, new item and the
   explanation, but not the rating (`prompts.verify_prompt`, temperature `verify_temperature`,
   default 0); the explanation becomes a verified reference only if the predicted rating equals
   the true rating.

Both kinds of teacher calls go through the teacher sample store (`teacher.store.SampleStore`)
under their own variant names, so a run is resumable and idempotent: a rerun only makes the
calls whose answers are not stored yet. Verification keys carry the explanation's temperature
(and "+json" for JSON answers) in their variant name ("recsaver_verify@T=0.7") and the
explanation's sample index, so each verification answer belongs to exactly one stored
explanation, and changing how verification is asked reuses the stored explanations.

Examples that end with 0 references are excluded from the reasoning metrics; the summary
counts and lists them.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from typing import Any, Mapping, Optional, Sequence

from recsaver_t5x.data.records import RATINGS, Example
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.variants import Budget
from recsaver_t5x.recsaver import prompts
from recsaver_t5x.recsaver.leakage import CleanedExplanation, remove_leakage
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale
from recsaver_t5x import shapes
from recsaver_t5x.teacher.constrained import Constraint
from recsaver_t5x.teacher.client import (ChatRequest, ClientConfig, TeacherClient,
                                         json_schema_format)
from recsaver_t5x.teacher.sampler import Job, derive_seed, prompt_jobs, run_jobs, SamplingConfig
from recsaver_t5x.teacher.store import SampleKey, SampleStore

# Why an explanation is or is not a verified reference.
VERIFIED = "verified"
REJECTED = "rejected"  # verification predicted another rating
UNPARSED = "verification_unparsed"
EMPTY = "empty_after_leakage_removal"

VERIFY_SCHEMA = {"type": "object",
                 "properties": {"rating": {"type": "integer", "enum": list(RATINGS)}},
                 "required": ["rating"]}


@dataclasses.dataclass(frozen=True)
class ReferenceConfig:
  """Algorithm 1's knobs.

  Attributes:
    num_explanations: N post-hoc explanations per example.
    temperature: T of the explanation calls.
    verify_temperature: temperature of the verification calls (0: the teacher's best guess).
    max_tokens: explanation length limit; verify_max_tokens: verification answer limit.
    base_seed: mixed into each call's seed (derived from its store key).
    budget: prompt character budget (as the reasoning prompt).
    verify_json: ask the verifier for JSON {"rating": 1..5} (grammar-constrained on llama.cpp,
      structured output on vLLM/OpenAI) instead of the free-text "### Rating ###" format;
      small teachers then always give a parseable rating.
    constrained: None, or "grammar" / "regex" / "json" (`teacher.constrained`): explanations
      as "### Reason ###\n...", verifications as "### Rating ###\nN" on `scale`.
  """

  num_explanations: int = 4
  temperature: float = 0.7
  verify_temperature: float = 0.0
  max_tokens: int = 384
  verify_max_tokens: int = 64
  base_seed: int = 0
  budget: Budget = Budget()
  verify_json: bool = False
  constrained: Optional[str] = None
  scale: RatingScale = DEFAULT_SCALE

  def __post_init__(self):
    if self.num_explanations < 1:
      raise UserFacingError("the number of explanations N must be >= 1")

  @property
  def verify_variant(self) -> str:
    json_suffix = "+json" if self.verify_json else ""
    constrained = f"+{self.constrained}" if self.constrained and not self.verify_json else ""
    return f"{prompts.VERIFY_VARIANT}@T={float(self.temperature):g}{json_suffix}{constrained}"


@dataclasses.dataclass(frozen=True)
class Attempt:
  """One explanation and its fate."""

  sample_index: int
  explanation: str  # the raw teacher answer
  cleaned: CleanedExplanation
  status: str
  verify_answer: Optional[str] = None
  verify_rating: Optional[int] = None
  verify_unparsed_reason: Optional[str] = None

  def to_dict(self) -> dict[str, Any]:
    return {"sample_index": self.sample_index, "status": self.status,
            "explanation": self.explanation, "cleaned": self.cleaned.text,
            "removed": [dataclasses.asdict(r) for r in self.cleaned.removed],
            "verify_answer": self.verify_answer, "verify_rating": self.verify_rating,
            "verify_unparsed_reason": self.verify_unparsed_reason}


@dataclasses.dataclass(frozen=True)
class ReferenceRecord:
  """An example's references: the verified ones and every attempt, for audit."""

  example_id: str
  true_rating: int
  domain: str
  attempts: tuple[Attempt, ...]

  @property
  def references(self) -> list[str]:
    """Verified references (cleaned explanations that passed self-verification)."""
    return [a.cleaned.text for a in self.attempts if a.status == VERIFIED]

  @property
  def unverified_references(self) -> list[str]:
    """Every non-empty cleaned explanation, verified or not (the study's Table 9 baseline)."""
    return [a.cleaned.text for a in self.attempts if a.status != EMPTY]

  def to_dict(self) -> dict[str, Any]:
    return {"example_id": self.example_id, "true_rating": self.true_rating, "domain": self.domain,
            "references": self.references, "unverified_references": self.unverified_references,
            "attempts": [a.to_dict() for a in self.attempts]}


def explain_jobs(examples: Sequence[Example], model: str, cfg: ReferenceConfig) -> list[Job]:
  """N explanation calls per example (step 1)."""
  scfg = SamplingConfig(num_samples=cfg.num_explanations, temperature=cfg.temperature,
                        max_tokens=cfg.max_tokens, base_seed=cfg.base_seed, budget=cfg.budget,
                        constrained=cfg.constrained, scale=cfg.scale)
  ps = [prompts.explain_prompt(ex, budget=cfg.budget) for ex in examples]
  return prompt_jobs(ps, model, scfg, extra={ex.example_id: {"step": "explain",
                                                            "true_rating": ex.true_rating}
                                            for ex in examples}, shape="reason")


def clean(example: Example, answer: str) -> CleanedExplanation:
  """Step 2: the explanation section of the answer, leaking sentences removed."""
  cleaned = remove_leakage(prompts.extract_explanation(answer), example.true_rating)
  return dataclasses.replace(cleaned, original=answer)


def _stored_explanations(ex: Example, store: SampleStore, model: str, cfg: ReferenceConfig):
  """(index, stored explanation, its leakage-cleaned form) for each explanation already sampled."""
  for n in range(cfg.num_explanations):
    sample = store.get(SampleKey(ex.example_id, prompts.EXPLAIN_VARIANT, model,
                                 float(cfg.temperature), n))
    if sample is not None:
      yield n, sample, clean(ex, sample.text)


def verify_jobs(examples: Sequence[Example], store: SampleStore, model: str,
                cfg: ReferenceConfig) -> list[Job]:
  """One verification call per stored, non-empty cleaned explanation (step 3)."""
  jobs = []
  for ex in examples:
    for n, sample, cleaned in _stored_explanations(ex, store, model, cfg):
      if not cleaned.text:
        continue
      p = prompts.verify_prompt(ex, cleaned.text, budget=cfg.budget)
      key = SampleKey(ex.example_id, cfg.verify_variant, model, float(cfg.verify_temperature), n)
      record = {"step": "verify", "explanation_seed": sample.seed,
                "truncation": p.truncation.to_dict()}
      fields = None
      if cfg.constrained and not cfg.verify_json:
        c = Constraint.for_tokens(cfg.constrained, "rating", cfg.verify_max_tokens, cfg.scale)
        fields, record["constrained"] = c.request_fields(), c.mode
      req = ChatRequest(messages=p.messages, temperature=cfg.verify_temperature,
                        seed=derive_seed(key, cfg.base_seed), max_tokens=cfg.verify_max_tokens,
                        response_format=json_schema_format(VERIFY_SCHEMA, "rating")
                        if cfg.verify_json else None, extra_body=fields)
      jobs.append(Job(key, req, p.sha256(), record))
  return jobs


def collect(examples: Sequence[Example], store: SampleStore, model: str,
            cfg: ReferenceConfig) -> list[ReferenceRecord]:
  """Reference records from what the store holds (missing calls are simply absent)."""
  records = []
  for ex in examples:
    attempts = []
    for n, sample, cleaned in _stored_explanations(ex, store, model, cfg):
      if not cleaned.text:
        attempts.append(Attempt(n, sample.text, cleaned, EMPTY))
        continue
      verify = store.get(SampleKey(ex.example_id, cfg.verify_variant, model,
                                   float(cfg.verify_temperature), n))
      if verify is None:
        continue
      parsed = parse_answer(verify.text)
      if parsed.rating is None:
        status = UNPARSED
      else:
        status = VERIFIED if parsed.rating == ex.true_rating else REJECTED
      attempts.append(Attempt(n, sample.text, cleaned, status, verify.text, parsed.rating,
                              parsed.unparsed_reason))
    records.append(ReferenceRecord(ex.example_id, ex.true_rating, ex.domain, tuple(attempts)))
  return records


async def generate_async(client: TeacherClient, store: SampleStore, examples: Sequence[Example],
                         cfg: ReferenceConfig, progress: bool = True) -> list[ReferenceRecord]:
  """Algorithm 1 over `examples` with an open client; resumable through `store`."""
  model = client.config.model
  await run_jobs(client, store, explain_jobs(examples, model, cfg),
                 desc="explanations", progress=progress)
  await run_jobs(client, store, verify_jobs(examples, store, model, cfg),
                 desc="verification", progress=progress)
  return collect(examples, store, model, cfg)


def generate(config: ClientConfig, store: SampleStore, examples: Sequence[Example],
             cfg: ReferenceConfig, progress: bool = True) -> list[ReferenceRecord]:
  """Synchronous entry point: opens a client and runs `generate_async`."""
  async def go():
    async with TeacherClient(config) as client:
      return await generate_async(client, store, examples, cfg, progress)
  return asyncio.run(go())


# --------------------------------------------------------------------------- summary and files


def summary(records: Sequence[ReferenceRecord]) -> dict[str, Any]:
  """Per-label pass rates and examples with 0 references (listed, never hidden)."""
  def stats_of(rs: Sequence[ReferenceRecord]) -> dict[str, Any]:
    attempts = [a for r in rs for a in r.attempts]
    verified = sum(a.status == VERIFIED for a in attempts)
    return {"examples": len(rs), "explanations": len(attempts),
            "empty_after_cleaning": sum(a.status == EMPTY for a in attempts),
            "unparsed_verification": sum(a.status == UNPARSED for a in attempts),
            "verified": verified,
            "pass_rate": verified / len(attempts) if attempts else None,
            "examples_with_references": sum(1 for r in rs if r.references),
            "examples_without_references": sum(1 for r in rs if not r.references),
            "sentences_removed": sum(len(a.cleaned.removed) for a in attempts)}
  by_label = {str(k): stats_of([r for r in records if r.true_rating == k]) for k in RATINGS}
  return {"by_label": by_label, "all": stats_of(records),
          "examples_without_references": [r.example_id for r in records if not r.references]}


def format_summary(s: Mapping[str, Any], max_listed: int = 20) -> str:
  """Markdown table of pass rates by true rating, then the examples with 0 references."""
  lines = ["| True rating | Examples | Explanations | Empty after cleaning | Unparsed verification "
           "| Verified | Pass rate | Examples with 0 references |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
  for label, st in list(s["by_label"].items()) + [("All", s["all"])]:
    rate = "n/a" if st["explanations"] == 0 else f"{st['pass_rate']:.3f}"
    lines.append(f"| {label} | {st['examples']} | {st['explanations']} | "
                 f"{st['empty_after_cleaning']} | {st['unparsed_verification']} | "
                 f"{st['verified']} | {rate} | {st['examples_without_references']} |")
  missing = s["examples_without_references"]
  lines.append("")
  lines.append(f"Examples with 0 verified references (excluded from reasoning metrics): "
               f"{len(missing)} of {s['all']['examples']}"
               + (": " + ", ".join(missing[:max_listed]) if missing else ""))
  if len(missing) > max_listed:
    lines.append(f"... and {len(missing) - max_listed} more (all listed in the summary JSON)")
  return "\n".join(lines)


def write_references(path: str, records: Sequence[ReferenceRecord]) -> None:
  """One JSON line per example (atomic replace)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    for r in records:
      f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
  os.replace(tmp, path)
