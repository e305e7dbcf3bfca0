"""The teacher LLM, zero-shot, as a reranker (costly: one chat call per (user, candidate)).

Each candidate becomes the study's zero-shot prompt of `variant` (history = the user's training
reviews, new item = the candidate). The score is the expected rating from the rating token's
logprobs where the server returns them, else the parsed rating, else the scale's midpoint (an
unparsed answer neither promotes nor buries a candidate; ties keep the retriever's order).
Answers go to the sample store under example ids `user|asin`, so a killed run resumes with the
missing calls only and a rerun makes none.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from recsaver_t5x.prompting import variants
from recsaver_t5x.answer import parse_answer, rating_probs
from recsaver_t5x.prompting import templates
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.rerank.rerankers import Query, expected_rating, query_examples
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale
from recsaver_t5x.teacher.client import ClientConfig
from recsaver_t5x.teacher.sampler import SamplingConfig, prompt_jobs, sample_jobs
from recsaver_t5x.teacher.store import SampleKey, SampleStore


class TeacherReranker:
  """Scores candidates with the teacher's zero-shot answers (see the module docstring)."""

  def __init__(self, config: ClientConfig, store: SampleStore, domain: str, variant: str = "no_reasoning",
               sampling: SamplingConfig = SamplingConfig(max_tokens=64),
               wording: Optional[DomainWording] = None, scale: RatingScale = DEFAULT_SCALE,
               progress: bool = True):
    self.config, self.store, self.domain = config, store, domain
    self.variant = variants.get_variant(variant)
    self.sampling, self.wording, self.scale, self.progress = sampling, wording, scale, progress
    self.name = f"teacher {config.model} ({self.variant.name})"
    self.calls = 0  # (user, candidate) pairs scored
    self.sampled = 0  # of which newly sent to the server (the rest came from the store)
    self.unparsed = 0

  def _score(self, text: str, logprobs) -> float:
    parsed = parse_answer(text, self.scale)
    probs = rating_probs(logprobs, parsed, self.scale)
    if probs is not None:
      return float(expected_rating(np.asarray([probs]), self.scale)[0])
    if parsed.rating is not None:
      return float(parsed.rating)
    self.unparsed += 1
    return (self.scale.low + self.scale.high) / 2

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    examples = [e for q in queries for e in query_examples(q, self.domain)]
    wording = self.wording or templates.wording_for(self.domain)
    prompts = [variants.build_prompt(e, self.variant, wording, self.sampling.budget) for e in examples]
    stats = sample_jobs(self.config, self.store, prompt_jobs(prompts, self.config.model, self.sampling),
                        desc="teacher rerank", progress=self.progress)
    self.calls += len(examples)
    self.sampled += stats.sampled
    out, lo = [], 0
    for q in queries:
      scores = []
      for e in examples[lo:lo + len(q.candidates)]:
        s = self.store.get(SampleKey(e.example_id, self.variant.name, self.config.model,
                                     float(self.sampling.temperature), 0))
        scores.append(self._score(s.text, s.logprobs))
      out.append(np.asarray(scores, np.float64))
      lo += len(q.candidates)
    return out
