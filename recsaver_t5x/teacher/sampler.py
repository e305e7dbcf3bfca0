"""Sample M teacher answers per (example, variant) at temperature T into the sample store.

Resumable and idempotent: jobs whose key is stored are skipped; each answer is stored (fsync'd)
as soon as it arrives, so a crash loses only the requests in flight. Each sample has its own
seed, derived from its key, so M samples are M distinct requests and reruns are reproducible on
servers that honour seeds.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from typing import Optional, Sequence

from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting.variants import (VARIANTS, Budget, Demonstration, Prompt, Variant,
                                              build_prompt)
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale
from recsaver_t5x.teacher.client import ChatRequest, ClientConfig, TeacherClient
from recsaver_t5x.teacher.constrained import Constraint, to_study_text
from recsaver_t5x.teacher.store import Sample, SampleKey, SampleStore


@dataclasses.dataclass(frozen=True)
class Job:
  """One request to make: its store key, the request and what to record with the answer."""

  key: SampleKey
  request: ChatRequest
  prompt_sha256: str
  extra: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RunStats:
  """What one sampling run did."""

  jobs: int
  already_stored: int
  sampled: int
  wall_s: float
  completion_tokens: int
  retries: int

  @property
  def tokens_per_s(self) -> float:
    return self.completion_tokens / self.wall_s if self.wall_s > 0 else 0.0


def derive_seed(key: SampleKey, base_seed: int = 0) -> int:
  """A 31-bit seed from the sample key: distinct per sample index, stable across reruns."""
  blob = json.dumps([base_seed] + key.to_list()).encode()
  return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") & 0x7FFFFFFF


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
  """How to sample: M answers per example at temperature T.

  Attributes:
    num_samples: M, answers per (example, variant).
    temperature: T.
    max_tokens: answer length limit.
    base_seed: mixed into every derived seed.
    budget: the prompt character budget.
    response_format: optional JSON-schema `response_format` (see client.json_schema_format).
    logprobs: ask for token logprobs (llama.cpp needs the server flag --logits_all True).
    constrained: None (free answers), or "grammar" / "regex" / "json" (see
      `teacher.constrained`); constrained prompts have their own store identity.
    scale: the domain's rating scale (what a constrained rating may be).
  """

  num_samples: int = 1
  temperature: float = 0.0
  max_tokens: int = 512
  base_seed: int = 0
  budget: Budget = Budget()
  response_format: Optional[dict] = None
  logprobs: bool = False
  constrained: Optional[str] = None
  scale: RatingScale = DEFAULT_SCALE


def answer_shape(variant_name: str) -> str:
  """The constrained answer shape of a prompt variant (reasoning or rating only)."""
  v = VARIANTS.get(variant_name)
  return "rating" if v is not None and not v.reasoning else "reason_rating"


def prompt_jobs(prompts: Sequence[Prompt], model: str, cfg: SamplingConfig,
                extra: Optional[dict[str, dict]] = None, shape: Optional[str] = None
                ) -> list[Job]:
  """M jobs per prompt. `extra[example_id]` is added to what is recorded with each sample.

  With `cfg.constrained`, answers follow `shape` (default: by the prompt variant)."""
  jobs = []
  for p in prompts:
    record = {"truncation": p.truncation.to_dict()}
    if p.demo_example_id:
      record["demo_example_id"] = p.demo_example_id
    record.update((extra or {}).get(p.example_id, {}))
    sha = p.sha256()
    fields = None
    if cfg.constrained:
      c = Constraint.for_tokens(cfg.constrained, shape or answer_shape(p.variant),
                                cfg.max_tokens, cfg.scale)
      fields, sha = c.request_fields(), c.fingerprint(sha)
      record["constrained"] = c.mode
    for m in range(cfg.num_samples):
      key = SampleKey(p.example_id, p.variant, model, float(cfg.temperature), m)
      req = ChatRequest(messages=p.messages, temperature=cfg.temperature,
                        seed=derive_seed(key, cfg.base_seed), max_tokens=cfg.max_tokens,
                        response_format=cfg.response_format, logprobs=cfg.logprobs,
                        extra_body=fields)
      jobs.append(Job(key, req, sha, record))
  return jobs


def example_jobs(examples: Sequence[Example], variant: Variant, model: str, cfg: SamplingConfig,
                 demo: Optional[Demonstration] = None) -> list[Job]:
  """M jobs per example for one prompt variant."""
  prompts = [build_prompt(ex, variant, budget=cfg.budget, demo=demo) for ex in examples]
  return prompt_jobs(prompts, model, cfg)


def _check_stale(store: SampleStore, jobs: Sequence[Job]) -> None:
  stale = [j.key for j in jobs
           if j.key in store and store.get(j.key).prompt_sha256 not in (None, j.prompt_sha256)]
  if stale:
    raise UserFacingError(
        f"{store.path}: {len(stale)} stored samples (e.g. {stale[0].example_id}, variant "
        f"{stale[0].variant}) were made from a different prompt text or output constraint "
        "than this run's (changed template, budget, data or --constrained). Use a new store "
        "path to resample.")


def _sample_from(job: Job, result) -> Sample:
  text, extra = result.text, dict(job.extra)
  if extra.get("constrained") == "json":  # stored in the study's text format
    study = to_study_text(text)
    if study is not None:
      text, extra["raw_text"] = study, result.text
  return Sample(key=job.key, text=text, seed=job.request.seed,
                prompt_sha256=job.prompt_sha256, finish_reason=result.finish_reason,
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                logprobs=result.logprobs, latency_s=round(result.latency_s, 4),
                server_model=result.model, created_unix=time.time(), extra=extra)


async def run_jobs(client: TeacherClient, store: SampleStore, jobs: Sequence[Job],
                   desc: str = "teacher", progress: bool = True) -> RunStats:
  """Run the jobs not yet stored; store each answer as it arrives.

  The first request that fails for good (retries exhausted, misconfiguration) stops the run and
  is raised; answers already stored stay stored, so a rerun continues from there.
  """
  from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
  _check_stale(store, jobs)
  unique: dict[SampleKey, Job] = {}
  for j in jobs:
    unique.setdefault(j.key, j)
  todo = [j for j in unique.values() if j.key not in store]
  done_before = len(unique) - len(todo)
  t0 = time.perf_counter()
  tokens = 0
  retries0 = client.stats["retries"]
  bar = tqdm(total=len(unique), initial=done_before, desc=desc, unit="sample",
             disable=not progress, dynamic_ncols=True)
  queue: asyncio.Queue = asyncio.Queue()
  for j in todo:
    queue.put_nowait(j)
  failure: list[BaseException] = []

  async def worker():
    nonlocal tokens
    while not failure:
      try:
        job = queue.get_nowait()
      except asyncio.QueueEmpty:
        return
      try:
        result = await client.chat(job.request)
      except Exception as e:  # pylint: disable=broad-except
        failure.append(e)
        return
      store.put(_sample_from(job, result))
      tokens += result.completion_tokens or 0
      bar.update(1)
      elapsed = time.perf_counter() - t0
      bar.set_postfix(tok_s=f"{tokens / elapsed:.0f}", retries=client.stats["retries"] - retries0,
                      refresh=False)

  try:
    await asyncio.gather(*(worker() for _ in range(min(client.capacity, max(1, len(todo))))))
  finally:
    bar.close()
  if failure:
    raise failure[0]
  return RunStats(jobs=len(unique), already_stored=done_before, sampled=len(todo),
                  wall_s=time.perf_counter() - t0, completion_tokens=tokens,
                  retries=client.stats["retries"] - retries0)


def sample_jobs(config: ClientConfig, store: SampleStore, jobs: Sequence[Job],
                desc: str = "teacher", progress: bool = True) -> RunStats:
  """Synchronous entry point: open a client and run the jobs."""
  async def go():
    async with TeacherClient(config) as client:
      return await run_jobs(client, store, jobs, desc, progress)
  return asyncio.run(go())


def describe(stats: RunStats) -> str:
  return (f"{stats.sampled} sampled, {stats.already_stored} already stored, "
          f"{stats.wall_s:.1f}s, {stats.completion_tokens} tokens "
          f"({stats.tokens_per_s:.1f} tok/s), {stats.retries} retries")

