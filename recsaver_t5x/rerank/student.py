"""A trained `recsaver train` student as a reranker: expected rating from rating-token probabilities.

Each (user, candidate) becomes a prepared example (history = the user's training reviews, target =
the candidate) in a work directory; the domain's eval task is registered on it exactly as
`recsaver tasks` registers one (same prompt, wording, budget, vocabulary), and `evaluate_lib`'s
own decoder writes the reasoning, then one teacher-forced pass reads P(rating) after the
`### Rating ###` marker. The predicted rating is the expected rating sum_r r P(r): unlike the
decoded digit it rarely ties, which is what a ranking needs. Predictions are appended to
`predictions_<task>.jsonl` in the work directory, so a killed run resumes where it stopped.
"""
from __future__ import annotations

import os
import re
from typing import Optional, Sequence

import numpy as np

from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting import variants
from recsaver_t5x.rerank.rerankers import Query, expected_rating, query_examples
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale


class StudentReranker:
  """Scores candidates with a student's rating-token distribution (see the module docstring)."""

  def __init__(self, model_dir: str, vocabulary: str, work_dir: str, domain: str,
               wording: Optional[str] = None, targets: str = "reason", input_length: int = 768,
               max_decode_length: int = 96, batch_size: int = 16, step: Optional[int] = None,
               budget: variants.Budget = variants.Budget(), name: Optional[str] = None,
               scale: RatingScale = DEFAULT_SCALE, progress: bool = True):
    if not os.path.isfile(vocabulary):
      raise UserFacingError(f"--vocabulary {vocabulary}: no such SentencePiece model")
    self.model_dir, self.vocabulary, self.work_dir = model_dir, vocabulary, work_dir
    self.domain, self.wording, self.targets, self.budget = domain, wording, targets, budget
    self.input_length, self.max_decode_length, self.batch_size = input_length, max_decode_length, batch_size
    self.scale, self.progress = scale, progress
    self.name = name or f"student {os.path.basename(os.path.normpath(model_dir))}"
    self.calls = 0
    self._model = None
    self._step = step
    # the task's domain part: its own name, so it never replaces a task of the real domain
    self._task_domain = "rerank_" + re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")

  def _load(self):
    if self._model is None:
      import jax  # pylint: disable=import-outside-toplevel
      from recsaver_t5x.trainer import evaluate_lib  # pylint: disable=import-outside-toplevel
      config, params, step = evaluate_lib.load_model(self.model_dir, self._step)
      self._model = (config, jax.device_put(params), step)
    return self._model

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    # pylint: disable=import-outside-toplevel
    import seqio
    from recsaver_t5x.trainer import evaluate_lib
    from recsaver_t5x.tasks import naming, registry
    config, params, step = self._load()
    examples = [e for q in queries for e in query_examples(q, self.domain)]
    data_io.write_unlabelled_split(self.work_dir, examples, self.scale)
    registry.add_domain(self._task_domain, self.work_dir, None, self.vocabulary,
                        wording=self.wording or self.domain, budget=self.budget)
    task = seqio.get_mixture_or_task(naming.eval_task_name(self._task_domain, self.targets))
    out_path = os.path.join(self.work_dir, f"predictions_{task.name}.jsonl")
    preds = evaluate_lib.predict_task(config, params, task, "test", self.input_length,
                                      self.max_decode_length, self.batch_size, out_path,
                                      progress=self.progress,
                                      made_by=(step, evaluate_lib.model_fingerprint(self.model_dir, step)))
    self.calls += len(examples)
    by_id = {p.example_id: p.probs for p in preds}
    out, lo = [], 0
    for q in queries:
      ids = [e.example_id for e in examples[lo:lo + len(q.candidates)]]
      out.append(expected_rating(np.asarray([by_id[i] for i in ids]), self.scale))
      lo += len(q.candidates)
    return out
