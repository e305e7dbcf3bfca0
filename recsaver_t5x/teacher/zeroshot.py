"""Zero-shot evaluation of prompt variants (the study's Table 3) with any teacher.

For each variant, one answer per test example (sample index 0 at temperature T) is sampled into
the sample store, parsed, and scored with the shared rating metrics next to the naive
user-average baseline. The one-shot variant's demonstration is a solved training example: a
teacher answer to the reasoning prompt whose parsed rating equals the true rating (taken from the
store when one exists, otherwise sampled here).
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from typing import Optional, Sequence

from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.answer import ParsedAnswer, parse_answer, rating_probs
from recsaver_t5x.prompting.variants import VARIANTS, Budget, Demonstration, Variant, build_prompt
from recsaver_t5x.teacher.client import TeacherClient
from recsaver_t5x.teacher.sampler import SamplingConfig, example_jobs, run_jobs
from recsaver_t5x.teacher.store import SampleKey, SampleStore

BASELINE_LABEL = "Naive Baseline (Avg.)"


@dataclasses.dataclass(frozen=True)
class Prediction:
  """One parsed answer of one variant for one test example."""

  example_id: str
  variant: str
  true_rating: int
  predicted_rating: Optional[int]
  unparsed_reason: Optional[str]
  probs: Optional[tuple[float, ...]]
  truncated: bool
  finish_reason: Optional[str]


def demo_candidates(train: Sequence[Example], seed: int = 0, budget: Budget = Budget()) -> list[Example]:
  """Training examples in the order they are tried as demonstrations: shortest prompt first
  (a demonstration lengthens every prompt), ties broken by a seeded hash of the id."""
  def order(ex: Example):
    h = hashlib.sha256(f"{seed}:{ex.example_id}".encode()).hexdigest()
    return (len(build_prompt(ex, "reasoning", budget=budget).text), h)
  return sorted(train, key=order)


def _solved(store: SampleStore, model: str, candidates: Sequence[Example]) -> Optional[Demonstration]:
  """The first candidate with a stored reasoning answer (any temperature) that is right."""
  answers: dict[str, list] = {}
  for s in store.select(variant="reasoning", model=model):
    answers.setdefault(s.key.example_id, []).append(s)
  for ex in candidates:
    for s in answers.get(ex.example_id, ()):
      parsed = parse_answer(s.text)
      if parsed.rating == ex.true_rating and parsed.explanation:
        return Demonstration(ex, parsed.explanation, ex.true_rating)
  return None


async def find_demonstration(client: TeacherClient, store: SampleStore, train: Sequence[Example],
                             model: str, cfg: SamplingConfig, tries: int = 16,
                             progress: bool = True) -> Demonstration:
  """A solved training example for the one-shot variant (deterministic given the store)."""
  candidates = demo_candidates(train, cfg.base_seed, cfg.budget)
  demo = _solved(store, model, candidates)  # an earlier solved answer (e.g. `recsaver sample`)
  if demo:
    return demo
  # Batches of `capacity` candidates keep every server busy; the first solved candidate in
  # candidate order wins, so the choice does not depend on the number of servers.
  tried = candidates[:tries]
  for start in range(0, len(tried), client.capacity):
    batch = tried[start:start + client.capacity]
    jobs = example_jobs(batch, VARIANTS["reasoning"], model, dataclasses.replace(cfg, num_samples=1))
    await run_jobs(client, store, jobs, desc="one-shot demo", progress=progress)
    demo = _solved(store, model, batch)
    if demo:
      return demo
  raise UserFacingError(
      f"no solved one-shot demonstration: the teacher's reasoning answer matched the true rating "
      f"for none of {min(tries, len(candidates))} training examples. Raise --demo-tries, or sample "
      "the train split first (`recsaver sample`), or leave out the one_shot variant.")


def predictions_for(store: SampleStore, examples: Sequence[Example], variant: Variant, model: str,
                    temperature: float) -> list[Prediction]:
  out = []
  for ex in examples:
    s = store.get(SampleKey(ex.example_id, variant.name, model, float(temperature), 0))
    if s is None:
      raise UserFacingError(f"{store.path}: no sample for {ex.example_id} / {variant.name}")
    parsed: ParsedAnswer = parse_answer(s.text)
    trunc = s.extra.get("truncation") or {}
    out.append(Prediction(ex.example_id, variant.name, ex.true_rating, parsed.rating,
                          parsed.unparsed_reason, rating_probs(s.logprobs, parsed),
                          bool(trunc.get("clipped") or trunc.get("history_dropped")),
                          s.finish_reason))
  return out


def score(predictions: Sequence[Prediction], unparsed: str = "exclude") -> dict:
  """The shared rating metrics, plus AUCs over the answers that carry rating probabilities.

  Probabilities exist only where the server returned logprobs and the rating token was found;
  the AUCs are computed over those `n_with_probs` answers (nothing is imputed for the others).
  """
  from recsaver_t5x.eval.rating_metrics import rating_metrics  # pylint: disable=import-outside-toplevel
  m = rating_metrics([p.true_rating for p in predictions], [p.predicted_rating for p in predictions],
                     unparsed=unparsed)
  with_probs = [p for p in predictions if p.probs is not None]
  if with_probs:
    sub = rating_metrics([p.true_rating for p in with_probs], [p.predicted_rating for p in with_probs],
                         probs=[list(p.probs) for p in with_probs])
    m["binary_auc"], m["multi_auc"] = sub["binary_auc"], sub["multi_auc"]
  m["n_truncated"] = sum(p.truncated for p in predictions)
  m["n_with_probs"] = len(with_probs)
  return m


def stratified_head(examples: Sequence[Example], n: Optional[int]) -> list[Example]:
  """The first `n` examples taken round-robin over ratings 1..5 (file order within a rating), so
  a smoke run with --limit stays label-balanced. None: all examples."""
  if n is None or n >= len(examples):
    return list(examples)
  by_rating: dict[int, list[Example]] = {}
  for ex in examples:
    by_rating.setdefault(ex.true_rating, []).append(ex)
  out: list[Example] = []
  depth = 0
  while len(out) < n:
    for r in sorted(by_rating):
      if depth < len(by_rating[r]) and len(out) < n:
        out.append(by_rating[r][depth])
    depth += 1
  return out


def baseline_row(examples: Sequence[Example]) -> dict:
  from recsaver_t5x.baseline import user_average as baseline  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.eval.rating_metrics import rating_metrics  # pylint: disable=import-outside-toplevel
  return rating_metrics([e.true_rating for e in examples], baseline.user_average_predictions(examples))


@dataclasses.dataclass
class ZeroShotResult:
  rows: list[tuple[str, dict]]
  predictions: dict[str, list[Prediction]]
  demo_example_id: Optional[str]


async def run_zeroshot(client: TeacherClient, store: SampleStore, test: Sequence[Example],
                       train: Sequence[Example], variants: Sequence[Variant], model: str,
                       cfg: SamplingConfig, demo_tries: int = 16, unparsed: str = "exclude",
                       progress: bool = True) -> ZeroShotResult:
  """Sample every variant over `test` (resumable), then parse and score."""
  cfg = dataclasses.replace(cfg, num_samples=1)
  demo = None
  if any(v.one_shot for v in variants):
    if not train:
      raise UserFacingError("the one_shot variant needs training examples for its demonstration")
    demo = await find_demonstration(client, store, train, model, cfg, demo_tries, progress)
  for v in variants:
    jobs = example_jobs(test, v, model, cfg, demo=demo if v.one_shot else None)
    await run_jobs(client, store, jobs, desc=v.name, progress=progress)
  rows = [(BASELINE_LABEL, baseline_row(test))]
  preds = {}
  for v in variants:
    preds[v.name] = predictions_for(store, test, v, model, cfg.temperature)
    rows.append((v.label, score(preds[v.name], unparsed)))
  return ZeroShotResult(rows, preds, demo.example.example_id if demo else None)


def zeroshot(config, store: SampleStore, test, train, variants, cfg: SamplingConfig,
             **kw) -> ZeroShotResult:
  async def go():
    async with TeacherClient(config) as client:
      return await run_zeroshot(client, store, test, train, variants, config.model, cfg, **kw)
  return asyncio.run(go())
