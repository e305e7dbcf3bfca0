"""Rating-token probabilities inside a compiled predict function (pure jax.numpy).

The same computation as `recsaver_t5x.model.rating_probs.rating_distribution`, written with
array ops only, so that it runs inside T5X's jitted/pjitted `predict_batch_with_aux`: find the
first "### Rating ###" in each decode (appending it where missing), teacher-force the prefix in
one forward pass and softmax the logits of the five digit pieces at the rating position.
"""
from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from recsaver_t5x.model.rating_probs import RatingTokens
from recsaver_t5x.errors import UserFacingError

LogitsFn = Callable[[Mapping[str, jax.Array]], jax.Array]


def _first_match(decodes: jax.Array, match: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
  """(found [b] bool, start [b] int32) of the first occurrence of `match` in each row."""
  b, length = decodes.shape
  m = len(match)
  if m > length:
    return jnp.zeros((b,), bool), jnp.zeros((b,), jnp.int32)
  windows = jnp.ones((b, length - m + 1), bool)
  for k, tok in enumerate(match):
    windows &= decodes[:, k:length - m + 1 + k] == tok
  found = windows.any(axis=1)
  return found, jnp.argmax(windows, axis=1).astype(jnp.int32)


def rating_prefix_batch(decodes: jax.Array, tokens: RatingTokens, eos_id: int = 1
                        ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """(decoder_input_tokens [b, L+extra], readout positions [b], marker_appended [b])."""
  decodes = decodes.astype(jnp.int32)
  b, length = decodes.shape
  is_eos = decodes == eos_id
  content_len = jnp.where(is_eos.any(1), jnp.argmax(is_eos, 1), length).astype(jnp.int32)
  found, start = _first_match(decodes, tokens.match_ids)
  found &= start + len(tokens.match_ids) <= content_len
  kept = jnp.where(found, start + len(tokens.match_ids), content_len)
  tail_found = list(tokens.prefix_ids)
  tail_missing = list(tokens.marker_ids) + list(tokens.prefix_ids)
  width = len(tail_missing)
  tails = jnp.where(found[:, None],
                    jnp.asarray(tail_found + [0] * (width - len(tail_found)), jnp.int32)[None],
                    jnp.asarray(tail_missing, jnp.int32)[None])
  tail_len = jnp.where(found, len(tail_found), len(tail_missing)).astype(jnp.int32)
  total = length + width + 1
  out_idx = jnp.arange(total)[None, :]            # position in decoder_input_tokens
  src = out_idx - 1                               # position in the prefix (0 is the start token)
  from_decode = (src >= 0) & (src < kept[:, None])
  k = src - kept[:, None]
  from_tail = (k >= 0) & (k < tail_len[:, None])
  dec_vals = jnp.take_along_axis(decodes, jnp.clip(src, 0, length - 1), axis=1)
  tail_vals = jnp.take_along_axis(tails, jnp.clip(k, 0, width - 1), axis=1)
  dec_in = jnp.where(from_decode, dec_vals, jnp.where(from_tail, tail_vals, 0))
  return dec_in.astype(jnp.int32), kept + tail_len, ~found


def rating_probs(logits_fn: LogitsFn, encoder_input_tokens: jax.Array, decodes: jax.Array,
                 tokens: RatingTokens, eos_id: int = 1) -> tuple[jax.Array, jax.Array]:
  """(probs [b, 5], marker_appended [b]) with one teacher-forced forward pass."""
  dec_in, positions, appended = rating_prefix_batch(decodes, tokens, eos_id)
  valid = (jnp.arange(dec_in.shape[1])[None, :] <= positions[:, None]).astype(jnp.int32)
  logits = logits_fn({"encoder_input_tokens": encoder_input_tokens,
                      "decoder_input_tokens": dec_in, "decoder_target_tokens": valid})
  at = jnp.take_along_axis(logits, positions[:, None, None], axis=1)[:, 0, :]
  digits = at[:, jnp.asarray(tokens.digit_ids)].astype(jnp.float32)
  return jax.nn.softmax(digits, axis=-1), appended


def check_vocab_size(module, input_vocabulary, output_vocabulary) -> None:
  """Raises when a vocabulary has more pieces than the network has embedding rows.

  T5X itself trains silently on out-of-range token ids (their embeddings are clipped), so a
  too-small `VOCAB_SIZE` (gin) would go unnoticed. Modules without a `config.vocab_size`
  are not checked.
  """
  rows = getattr(getattr(module, "config", None), "vocab_size", None)
  if rows is None:
    return
  for name, vocab in (("input", input_vocabulary), ("output", output_vocabulary)):
    if vocab.vocab_size > rows:
      raise UserFacingError(
          f"the {name} vocabulary has {vocab.vocab_size} pieces but the model only {rows} "
          f"embedding rows (network.T5Config.vocab_size): set --gin.VOCAB_SIZE >= "
          f"{vocab.vocab_size}")
