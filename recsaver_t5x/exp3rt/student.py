"""A trained student as a text -> text function (greedy decoding, fixed shapes) with the
rating-token distribution on the domain's scale.

Inputs longer than `input_length` keep their END, as the SeqIO tasks trim them
(`recsaver_t5x.tasks.registry.fit_to_lengths`), so the student sees at inference what it saw in training.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

import numpy as np

from recsaver_t5x.model import decoding
from recsaver_t5x.model.network import Transformer
from recsaver_t5x.model.rating_probs import RatingTokens, rating_distribution, rating_token_ids
from recsaver_t5x.model.vocab import EOS_ID
from recsaver_t5x.scale import RatingScale


def scale_tokens(vocab: Any, scale: RatingScale) -> RatingTokens:
  """One token per rating value after the marker (raises, naming the value, if one is not a
  single piece, e.g. "10" in a vocabulary without it)."""
  return rating_token_ids(vocab, digits=tuple(str(v) for v in scale.values))


@dataclasses.dataclass
class Student:
  """Model, params and vocabulary; counts decode calls and time for the cost benchmark."""

  config: Any
  params: Any
  vocab: Any
  input_length: int = 1024
  max_decode_length: int = 128
  batch_size: int = 8
  decode_calls: int = 0
  decode_rows: int = 0
  decode_s: float = 0.0

  def __post_init__(self):
    self.model = Transformer(self.config)

  def _encode(self, texts: Sequence[str]) -> np.ndarray:
    out = np.zeros((self.batch_size, self.input_length), np.int32)
    for i, t in enumerate(texts):
      ids = list(self.vocab.encode(t))[-(self.input_length - 1):] + [EOS_ID]
      out[i, :len(ids)] = ids
    return out

  def _decode_batch(self, texts: Sequence[str]):
    enc = self._encode(texts)
    t0 = time.perf_counter()
    tokens, _ = decoding.greedy_decode(self.model, self.params, enc, self.max_decode_length)
    tokens = np.asarray(tokens)
    self.decode_s += time.perf_counter() - t0
    self.decode_calls += 1
    self.decode_rows += len(texts)
    return enc, tokens

  def _text(self, row) -> str:
    row = [int(t) for t in row]
    return self.vocab.decode(row[:row.index(EOS_ID)] if EOS_ID in row else row)

  def generate(self, texts: Sequence[str]) -> list[str]:
    """Greedy answers for `texts`, in order."""
    out = []
    for i in range(0, len(texts), self.batch_size):
      chunk = list(texts[i:i + self.batch_size])
      _, tokens = self._decode_batch(chunk)
      out += [self._text(tokens[j]) for j in range(len(chunk))]
    return out

  def rate(self, texts: Sequence[str], scale: RatingScale) -> tuple[list[str], np.ndarray]:
    """(answers, [n, len(scale)] rating-token probabilities after the marker)."""
    tokens_spec = scale_tokens(self.vocab, scale)
    answers, probs = [], []
    for i in range(0, len(texts), self.batch_size):
      chunk = list(texts[i:i + self.batch_size])
      enc, tokens = self._decode_batch(chunk)
      t0 = time.perf_counter()
      dist = rating_distribution(self.model, self.params, enc, tokens, tokens=tokens_spec)
      self.decode_s += time.perf_counter() - t0
      answers += [self._text(tokens[j]) for j in range(len(chunk))]
      probs.append(np.asarray(dist.probs)[:len(chunk)])
    return answers, (np.concatenate(probs) if probs else np.zeros((0, len(scale))))
