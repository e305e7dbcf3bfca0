"""Rating-token probabilities from one teacher-forced pass over a decoded answer.

For a model that writes "reasoning, then `### Rating ###`, then a digit", the distribution
over the five ratings is read at the position right after the (last) marker: keep the logits of
the pieces for "1".."5" and softmax over those five. The decoded prefix up to the marker is
teacher-forced in a single batched forward pass (cost: one forward pass). A decode that never
wrote the marker gets it appended and is scored too (and counted).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model.decoding import as_config
from recsaver_t5x.model.network import Transformer
from recsaver_t5x.model.vocab import EOS_ID, RATING_DIGITS, RATING_MARKER

_SPACE_PIECE = '\u2581'


@dataclasses.dataclass(frozen=True)
class RatingTokens:
  """Token ids needed to read a rating distribution.

  marker_ids: the marker as the vocabulary encodes it (appended when a decode lacks it).
  match_ids: `marker_ids` without a leading lone '▁' piece (what is searched for).
  prefix_ids: pieces shared by all five answers between the marker and the digit ('▁').
  digit_ids: for "1".."5", the piece that tells them apart.
  """
  marker_ids: Tuple[int, ...]
  match_ids: Tuple[int, ...]
  prefix_ids: Tuple[int, ...]
  digit_ids: Tuple[int, ...]


def rating_token_ids(vocab: Any, marker: str = RATING_MARKER,
                     digits: Sequence[str] = RATING_DIGITS) -> RatingTokens:
  """Looks up the marker and digit pieces in a seqio vocabulary (one or two pieces per digit)."""
  marker_ids = tuple(int(i) for i in vocab.encode(marker))
  if vocab.tokenizer.unk_id() in marker_ids:
    raise UserFacingError(f'the vocabulary cannot spell the marker {marker!r} (unknown pieces)')
  answers = []
  for d in digits:
    ids = tuple(int(i) for i in vocab.encode(f'{marker} {d}'))
    if ids[:len(marker_ids)] != marker_ids:
      raise UserFacingError(f'the vocabulary tokenizes {marker!r} differently before a digit')
    answers.append(ids[len(marker_ids):])
  common = 0
  while all(len(a) > common for a in answers) and len({a[common] for a in answers}) == 1:
    common += 1
  prefix = answers[0][:common]
  digit_ids = []
  for d, a in zip(digits, answers):
    if len(a) != common + 1:
      raise UserFacingError(f'rating {d!r} is not a single piece after {marker!r}: {a}')
    digit_ids.append(a[common])
  if len(set(digit_ids)) != len(digit_ids):
    raise UserFacingError(f'rating digits share token ids: {digit_ids}')
  piece = vocab.tokenizer.id_to_piece
  match = marker_ids
  while len(match) > 1 and piece(match[0]) == _SPACE_PIECE:
    match = match[1:]
  return RatingTokens(marker_ids, match, prefix, tuple(digit_ids))


def _rfind(seq: Sequence[int], sub: Sequence[int]) -> int:
  """Start of the LAST occurrence of `sub` in `seq`, or -1."""
  n = len(sub)
  for j in range(len(seq) - n, -1, -1):
    if tuple(seq[j:j + n]) == tuple(sub):
      return j
  return -1


def rating_prefixes(decoded_tokens: np.ndarray, tokens: RatingTokens,
                    eos_id: int = EOS_ID) -> Tuple[List[List[int]], np.ndarray]:
  """Per row: the tokens up to and including the LAST marker and the shared prefix, and whether
  the marker had to be appended (decode without it, cut at EOS).

  The last marker, as `answer.parse_answer` reads the text: a decode that writes the
  marker twice gets its probabilities and its parsed rating from the same place.
  """
  prefixes, appended = [], []
  for row in np.asarray(decoded_tokens):
    row = [int(t) for t in row]
    end = row.index(eos_id) if eos_id in row else len(row)
    content = row[:end]
    j = _rfind(content, tokens.match_ids)
    if j >= 0:
      prefixes.append(content[:j + len(tokens.match_ids)] + list(tokens.prefix_ids))
      appended.append(False)
    else:
      prefixes.append(content + list(tokens.marker_ids) + list(tokens.prefix_ids))
      appended.append(True)
  return prefixes, np.asarray(appended)


@dataclasses.dataclass(frozen=True)
class RatingDistribution:
  probs: np.ndarray          # [b, 5] float32, rows sum to 1
  marker_appended: np.ndarray  # [b] bool
  logits: np.ndarray         # [b, 5] the raw logits of the five digit pieces

  @property
  def n_marker_appended(self) -> int:
    return int(self.marker_appended.sum())

  def expected_rating(self) -> np.ndarray:
    return self.probs @ np.arange(1, self.probs.shape[1] + 1, dtype=np.float32)

  def argmax_rating(self) -> np.ndarray:
    return np.argmax(self.probs, axis=1) + 1


@functools.lru_cache(maxsize=16)
def _digit_logits_fn(config, digit_ids: Tuple[int, ...]):
  model = Transformer(config)

  def run(params, encoder_input_tokens, decoder_input_tokens, positions, encoded=None):
    valid = (jnp.arange(decoder_input_tokens.shape[1])[None, :] <= positions[:, None])
    if encoded is None:
      encoded = model.apply({'params': params}, encoder_input_tokens, enable_dropout=False,
                            method=Transformer.encode)
    states = model.apply({'params': params}, encoded, encoder_input_tokens,
                         decoder_input_tokens, valid.astype(jnp.int32), enable_dropout=False,
                         return_pre_logits=True, method=Transformer.decode)
    # Only the rating position and only the five digit rows of the output projection: the
    # full [b, l, vocab] logits would dominate the cost.
    at = jnp.take_along_axis(states, positions[:, None, None], axis=1)[:, 0, :]
    digits = model.apply({'params': params}, at, jnp.asarray(digit_ids),
                         method=Transformer.output_logits)
    return digits, jax.nn.softmax(digits, axis=-1)

  return jax.jit(run)


def rating_distribution(model: Any, params, encoder_input_tokens: np.ndarray,
                        decoded_tokens: np.ndarray, vocab: Any = None,
                        tokens: Optional[RatingTokens] = None, eos_id: int = EOS_ID,
                        encoded: Optional[Any] = None) -> RatingDistribution:
  """The 5-way rating distribution after the marker, for every decoded row.

  `encoded` (from `decoding.encode`, shared with the decode) skips the encoder pass, leaving
  one teacher-forced decoder pass.
  """
  tokens = tokens or rating_token_ids(vocab)
  config = as_config(model)
  decoded_tokens = np.asarray(decoded_tokens)
  prefixes, appended = rating_prefixes(decoded_tokens, tokens, eos_id)
  # A length fixed by the decode length, so the pass compiles once per decode shape.
  length = decoded_tokens.shape[1] + len(tokens.marker_ids) + len(tokens.prefix_ids) + 1
  dec_in = np.zeros((len(prefixes), length), np.int32)
  for b, p in enumerate(prefixes):
    dec_in[b, 1:len(p) + 1] = p  # start token 0 in front
  positions = np.asarray([len(p) for p in prefixes], np.int32)
  logits, probs = _digit_logits_fn(config, tokens.digit_ids)(
      params, jnp.asarray(encoder_input_tokens, jnp.int32), jnp.asarray(dec_in),
      jnp.asarray(positions), encoded)
  return RatingDistribution(np.asarray(probs), appended, np.asarray(logits))


def rating_probabilities(model: Any, params, encoder_input_tokens: np.ndarray,
                         decoded_tokens: np.ndarray, vocab: Any,
                         encoded: Optional[Any] = None) -> Tuple[np.ndarray, int]:
  """(probs [b, 5] over ratings 1..5, number of rows whose marker was appended)."""
  dist = rating_distribution(model, params, encoder_input_tokens, decoded_tokens, vocab,
                             encoded=encoded)
  return dist.probs, dist.n_marker_appended
