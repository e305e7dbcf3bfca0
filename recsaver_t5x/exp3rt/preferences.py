"""EXP3RT step 1: one teacher call per review -> its [Like] / [Dislike] preferences."""
from __future__ import annotations

from typing import Iterable, Sequence

from recsaver_t5x.exp3rt import bullets, prompts, teacher_jobs
from recsaver_t5x.exp3rt.corpus import Corpus
from recsaver_t5x.exp3rt.selection import Selection
from recsaver_t5x.prompting.templates import DomainWording
from recsaver_t5x.teacher.sampler import Job
from recsaver_t5x.teacher.store import SampleStore


def needed_reviews(selections: Iterable[Selection]) -> list[str]:
  """Every review some profile may use, each once, in first-use order."""
  seen: dict[str, None] = {}
  for s in selections:
    for rid in s.user_ids + s.item_ids:
      seen.setdefault(rid, None)
  return list(seen)


def extraction_prompt(corpus: Corpus, review_id: str, wording: DomainWording,
                      budget: prompts.PromptBudget) -> str:
  review = corpus.review(review_id)
  return prompts.extraction_prompt(review, corpus.item(review.asin), wording, budget)


def extraction_jobs(corpus: Corpus, review_ids: Sequence[str], model: str,
                    cfg: teacher_jobs.CallConfig, wording: DomainWording,
                    budget: prompts.PromptBudget) -> list[Job]:
  return [teacher_jobs.job(rid, teacher_jobs.EXTRACT,
                           extraction_prompt(corpus, rid, wording, budget), model, cfg,
                           {"step": "exp3rt_extract"}) for rid in review_ids]


def collect(corpus: Corpus, store: SampleStore, review_ids: Sequence[str], model: str,
            cfg: teacher_jobs.CallConfig, wording: DomainWording,
            budget: prompts.PromptBudget) -> list[dict]:
  """One record per review with a stored answer: canonical preferences and whether they parsed."""
  out = []
  for rid in review_ids:
    sample = store.get(teacher_jobs.key(rid, teacher_jobs.EXTRACT, model, cfg))
    if sample is None:
      continue
    review = corpus.review(rid)
    prefs = bullets.parse(sample.text)
    out.append({"review_id": rid, "user_id": review.user_id, "asin": review.asin,
                "rating": review.rating, "timestamp": review.timestamp,
                "helpful": review.helpful, "preferences": prefs.render(),
                "parsed": prefs.parsed, "raw": sample.text,
                "prompt": extraction_prompt(corpus, rid, wording, budget)})
  return out
