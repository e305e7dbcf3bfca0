"""An EXP3RT student as a reranker: its own extractions -> user / item profiles -> expected rating.

EXP3RT reranks a retriever's top-k by the rating its reasoning predicts. For each (user, candidate)
the student runs the chain of `exp3rt.chain` on reviews the rerank split TRAINS on only: the
user's training reviews (the `user_cap` most recent) and other users' training reviews of the
candidate (by the EXP3RT directory's criterion and caps), so no held-out interaction reaches a
profile. A user's profile is the same for all of their candidates and an item's (with the
`helpful` criterion) the same for every user, so identical prompts are decoded once
(`_PromptCache`); that sharing is what makes EXP3RT cheap per candidate. The score is the
expected rating sum_r r P(r) of the rating-token distribution.
"""
from __future__ import annotations

import os
from typing import Collection, Optional, Sequence

import numpy as np

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.rerank.rerankers import Query


class _PromptCache:
  """A Student whose `generate` decodes each distinct prompt once; `rate` passes through."""

  def __init__(self, student):
    self.student, self.cache = student, {}

  def generate(self, texts: Sequence[str]) -> list[str]:
    todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
    self.cache.update(zip(todo, self.student.generate(todo)))
    return [self.cache[t] for t in texts]

  def rate(self, texts, scale):
    return self.student.rate(texts, scale)


class Exp3rtReranker:
  """Scores candidates with an EXP3RT student's chained inference (see the module docstring).

  `train_keys`: (user, asin, timestamp) of every interaction the rerank split trains on.
  """

  def __init__(self, model_dir: str, vocabulary: str, exp3rt_dir: str, reviews: Sequence[str],
               meta: Sequence[str], train_keys: Collection[tuple], name: Optional[str] = None,
               input_length: int = 1024, max_decode_length: int = 128, batch_size: int = 8,
               step: Optional[int] = None):
    # pylint: disable=import-outside-toplevel
    from recsaver_t5x.exp3rt import corpus as corpus_lib, prompts, selection, workdir
    from recsaver_t5x.scale import RatingScale
    if not os.path.isfile(vocabulary):
      raise UserFacingError(f"--vocabulary {vocabulary}: no such SentencePiece model")
    cfg = workdir.read_config(exp3rt_dir)
    self.scale = RatingScale.from_dict(cfg["scale"])
    self.sel_cfg = selection.SelectionConfig(**cfg["selection"])
    self.wording = prompts.domain_wording(cfg["domain"])
    self.budget = prompts.PromptBudget(**cfg["budget"])
    self.corpus = corpus_lib.load_corpus(reviews, meta, self.scale)
    self.train_keys = set(train_keys)
    self.model_dir, self.vocabulary, self.step = model_dir, vocabulary, step
    self.lengths = (input_length, max_decode_length, batch_size)
    self.name = name or f"EXP3RT {os.path.basename(os.path.normpath(model_dir))}"
    self.calls = 0
    self._student = None

  def _load(self) -> _PromptCache:
    if self._student is None:
      # pylint: disable=import-outside-toplevel
      from recsaver_t5x.exp3rt.student import Student
      from recsaver_t5x.model.vocab import get_vocabulary
      from recsaver_t5x.trainer.evaluate_lib import load_model
      config, params, _ = load_model(self.model_dir, self.step)
      self._student = _PromptCache(Student(config, params, get_vocabulary(self.vocabulary),
                                           *self.lengths))
    return self._student

  def _trained(self, reviews) -> list:
    return [r for r in reviews if (r.user_id, r.asin, r.timestamp) in self.train_keys]

  def selections(self, queries: Sequence[Query]) -> list:
    """One Selection per (user, candidate), from training interactions only."""
    from recsaver_t5x.exp3rt.selection import Selection  # pylint: disable=import-outside-toplevel
    cfg, out = self.sel_cfg, []
    for q in queries:
      user = self._trained(self.corpus.by_user.get(q.user_id, ()))[-cfg.user_cap:]
      for item in q.candidates:
        others = [r for r in self._trained(self.corpus.by_item.get(item.asin, ()))
                  if r.user_id != q.user_id]
        if cfg.criterion == "helpful":
          others = sorted(others, key=lambda r: (r.helpful, r.timestamp), reverse=True)[:cfg.item_cap]
        else:
          others = others[-cfg.item_pool:]
        out.append(Selection(f"{q.user_id}|{item.asin}", "rerank", q.user_id, item.asin, 0, 0,
                             tuple(r.review_id for r in user), tuple(r.review_id for r in others)))
    return out

  def score(self, queries: Sequence[Query]) -> list[np.ndarray]:
    # pylint: disable=import-outside-toplevel
    from recsaver_t5x.exp3rt import chain, preferences
    sels = self.selections(queries)
    ids = dict.fromkeys(r for s in sels for r in s.user_ids + s.item_ids)
    prefs = {r: {"prompt": preferences.extraction_prompt(self.corpus, r, self.wording, self.budget),
                 "rating": self.corpus.review(r).rating, "preferences": ""} for r in ids}
    items = {**self.corpus.items, **{i.asin: i for q in queries for i in q.candidates}}
    inp = chain.ChainInputs(sels, prefs, {}, items, self.sel_cfg, self.wording, self.budget,
                            self.scale)
    embed = None
    if self.sel_cfg.criterion == "similar":
      from recsaver_t5x.exp3rt import embed as embed_lib
      embed = embed_lib.embed
    preds = chain.predict(self._load(), inp, embed=embed)
    self.calls += len(preds)
    by_id = {p["example_id"]: p["expected"] for p in preds}
    return [np.asarray([by_id[f"{q.user_id}|{i.asin}"] for i in q.candidates], np.float64)
            for q in queries]
