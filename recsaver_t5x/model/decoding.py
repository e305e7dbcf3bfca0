"""Batched autoregressive decoding with a key/value cache: greedy, temperature/top-k sampling,
and beam search, each one jitted `lax.while_loop` per input shape.

Conventions are T5X's: the decoder starts from token 0, decodes up to `max_decode_length`
tokens, a row stops at EOS and is zero after it, outputs exclude the start token. Scores are
sums of the model's log-probabilities of the emitted tokens (EOS included; not rescaled by
temperature or top-k, i.e. T5X's `rescale_log_probs=False`). Beam scores are T5X's: the sum
of log-probs divided by ((5 + length) / 6) ** alpha.
"""
from __future__ import annotations

import functools
from typing import Any, Optional, Tuple

import flax
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.model.config import T5Config
from recsaver_t5x.model.network import Transformer

Array = jax.Array
NEG_INF = np.float32(-1.0e7)  # T5X beam search's "effective -inf"
EOS_ID = 1


# -------------------------------------------------------------------------------------------
# Model plumbing: encode once, build the cache, one cached step.
# -------------------------------------------------------------------------------------------
def _encode(model: Transformer, params, encoder_input_tokens: Array) -> Array:
  return model.apply({'params': params}, encoder_input_tokens, enable_dropout=False,
                     method=Transformer.encode)


def _init_cache(model: Transformer, params, encoded: Array, encoder_input_tokens: Array,
                max_decode_length: int):
  """Creates the decoding cache (cross-attention keys/values computed from `encoded`).

  The decoder outputs of this call are unused, so XLA drops that computation.
  """
  dummy = jnp.zeros((encoded.shape[0], max_decode_length), jnp.int32)
  _, variables = model.apply({'params': params}, encoded, encoder_input_tokens, dummy, dummy,
                             enable_dropout=False, decode=True,
                             max_decode_length=max_decode_length, mutable=['cache'],
                             method=Transformer.decode)
  return variables['cache']


def _step(model: Transformer, params, cache, encoded: Array, encoder_input_tokens: Array,
          tokens: Array, max_decode_length: int) -> Tuple[Array, Any]:
  """Logits [batch, vocab] for the next position after feeding `tokens` [batch]."""
  tokens = tokens[:, None]
  logits, variables = model.apply({'params': params, 'cache': cache}, encoded,
                                  encoder_input_tokens, tokens, tokens, enable_dropout=False,
                                  decode=True, max_decode_length=max_decode_length,
                                  mutable=['cache'], method=Transformer.decode)
  return logits[:, -1, :].astype(jnp.float32), variables['cache']


def as_config(model_or_config: Any) -> T5Config:
  """Accepts a T5Config or a `Transformer` module."""
  if isinstance(model_or_config, T5Config):
    return model_or_config
  if isinstance(getattr(model_or_config, 'config', None), T5Config):
    return model_or_config.config
  raise TypeError(f'expected a T5Config or a Transformer, got {type(model_or_config).__name__}')


def _repeat_rows(x: Array, n: int) -> Array:
  """[b, ...] -> [b * n, ...], each row repeated n times consecutively."""
  return x if n == 1 else jnp.repeat(x, n, axis=0)


# -------------------------------------------------------------------------------------------
# Greedy and temperature / top-k sampling.
# -------------------------------------------------------------------------------------------
def _sample_fn(config: T5Config, max_decode_length: int, greedy: bool, top_k: int,
               num_decodes: int, eos_id: int):
  model = Transformer(config)

  def run(params, encoder_input_tokens, rng, temperature, encoded=None):
    encoder_input_tokens = encoder_input_tokens.astype(jnp.int32)
    if encoded is None:
      encoded = _encode(model, params, encoder_input_tokens)
    encoded = _repeat_rows(encoded, num_decodes)
    enc_tokens = _repeat_rows(encoder_input_tokens, num_decodes)
    batch = encoded.shape[0]
    cache = _init_cache(model, params, encoded, enc_tokens, max_decode_length)

    def cond(state):
      i, _, _, ended, _, _, _ = state
      return jnp.logical_and(i < max_decode_length, jnp.logical_not(jnp.all(ended)))

    def body(state):
      i, cur, out, ended, log_prob, cache, rng = state
      logits, cache = _step(model, params, cache, encoded, enc_tokens, cur, max_decode_length)
      log_probs = jax.nn.log_softmax(logits)
      if greedy:
        nxt = jnp.argmax(logits, axis=-1).astype(jnp.int32)
      else:
        rng, sub = jax.random.split(rng)
        scaled = logits / temperature
        if top_k > 0:
          kth = lax.top_k(scaled, top_k)[0][:, -1:]
          scaled = jnp.where(scaled < kth, NEG_INF, scaled)
        nxt = jax.random.categorical(sub, scaled, axis=-1).astype(jnp.int32)
      nxt = jnp.where(ended, 0, nxt)
      token_lp = jnp.take_along_axis(log_probs, nxt[:, None], axis=-1)[:, 0]
      log_prob = log_prob + jnp.where(ended, 0.0, token_lp)
      out = lax.dynamic_update_slice(out, nxt[:, None], (0, i))
      ended = jnp.logical_or(ended, nxt == eos_id)
      return i + 1, nxt, out, ended, log_prob, cache, rng

    state = (jnp.array(0, jnp.int32), jnp.zeros((batch,), jnp.int32),
             jnp.zeros((batch, max_decode_length), jnp.int32), jnp.zeros((batch,), bool),
             jnp.zeros((batch,), jnp.float32), cache, rng)
    _, _, out, _, log_prob, _, _ = lax.while_loop(cond, body, state)
    if num_decodes > 1:
      out = out.reshape(-1, num_decodes, max_decode_length)
      log_prob = log_prob.reshape(-1, num_decodes)
    return out, log_prob

  return jax.jit(run)


@functools.lru_cache(maxsize=32)
def _cached_sample_fn(*key):
  return _sample_fn(*key)


def encode(model: Any, params, encoder_input_tokens: Array) -> Array:
  """Encoder outputs, to share between decoding and `rating_probs` (saves an encoder pass)."""
  return _encode_fn(as_config(model))(params, jnp.asarray(encoder_input_tokens, jnp.int32))


@functools.lru_cache(maxsize=16)
def _encode_fn(config: T5Config):
  model = Transformer(config)
  return jax.jit(lambda params, tokens: _encode(model, params, tokens))


def greedy_decode(model: Any, params, encoder_input_tokens: Array, max_decode_length: int,
                  eos_id: int = EOS_ID, encoded: Optional[Array] = None) -> Tuple[Array, Array]:
  """Greedy decoding. Returns (tokens [b, max_decode_length] int32, scores [b] float32).

  `encoded` (from `encode`) skips the encoder pass.
  """
  config = as_config(model)
  fn = _cached_sample_fn(config, int(max_decode_length), True, 0, 1, int(eos_id))
  return fn(params, jnp.asarray(encoder_input_tokens), jax.random.PRNGKey(0),
            jnp.float32(1.0), encoded)


def temperature_sample(model: Any, params, encoder_input_tokens: Array,
                       max_decode_length: int, rng: Array, temperature: float = 1.0,
                       top_k: int = 0, num_decodes: int = 1, eos_id: int = EOS_ID,
                       encoded: Optional[Array] = None) -> Tuple[Array, Array]:
  """Samples from softmax(logits / temperature), optionally restricted to the top-k logits.

  temperature 0 is greedy. With `num_decodes > 1` every input row is sampled that many times
  and the outputs are [b, num_decodes, length] and [b, num_decodes].
  """
  if temperature < 0:
    raise ValueError('temperature must be >= 0')
  config = as_config(model)
  greedy = temperature < 1e-4  # T5X's MIN_TEMPERATURE
  fn = _cached_sample_fn(config, int(max_decode_length), greedy, int(top_k), int(num_decodes),
                         int(eos_id))
  return fn(params, jnp.asarray(encoder_input_tokens), rng,
            jnp.float32(max(temperature, 1e-4)), encoded)


# -------------------------------------------------------------------------------------------
# Beam search (T5X's algorithm: 2k candidates per step, finished/live sets, length penalty).
# -------------------------------------------------------------------------------------------
def brevity_penalty(alpha: float, length: Array) -> Array:
  return jnp.power((5.0 + length) / 6.0, alpha)


def _gather_beams(x: Array, beam_indices: Array) -> Array:
  """x [b, old_k, ...], beam_indices [b, new_k] -> [b, new_k, ...]."""
  return jnp.take_along_axis(
      x, beam_indices.reshape(beam_indices.shape + (1,) * (x.ndim - 2)), axis=1)


def _gather_cache(cache, beam_indices: Array, batch: int, beams: int):
  """Reorders the self-attention caches of flat [b * k, ...] rows by beam."""
  def gather(path, x):
    names = [getattr(p, 'key', '') for p in path]
    # Scalars (the position) and cross-attention keys/values (identical across a row's
    # beams) need no reordering.
    if x.ndim == 0 or 'encoder_decoder_attention' in names:
      return x
    y = x.reshape((batch, beams) + x.shape[1:])
    return _gather_beams(y, beam_indices).reshape(x.shape)
  return jax.tree_util.tree_map_with_path(gather, cache)


def _beam_fn(config: T5Config, max_decode_length: int, beams: int, alpha: float, eos_id: int):
  model = Transformer(config)

  def run(params, encoder_input_tokens):
    encoder_input_tokens = encoder_input_tokens.astype(jnp.int32)
    batch = encoder_input_tokens.shape[0]
    encoded = _repeat_rows(_encode(model, params, encoder_input_tokens), beams)
    enc_tokens = _repeat_rows(encoder_input_tokens, beams)
    cache = _init_cache(model, params, encoded, enc_tokens, max_decode_length)
    total = max_decode_length + 1  # sequences include the start token

    def cond(state):
      i, live_lp, fin_scores, _, _, fin_flags, _ = state
      best_live = live_lp[:, -1:] / brevity_penalty(alpha, total)
      worst_fin = jnp.min(fin_scores, axis=1, keepdims=True)
      worst_fin = jnp.where(fin_flags, worst_fin, NEG_INF)
      done = jnp.all(worst_fin > best_live)
      return jnp.logical_and(i < total - 1, jnp.logical_not(done))

    def body(state):
      i, live_lp, fin_scores, live_seqs, fin_seqs, fin_flags, cache = state
      cur = lax.dynamic_slice_in_dim(live_seqs, i, 1, axis=2).reshape(batch * beams)
      logits, cache = _step(model, params, cache, encoded, enc_tokens, cur, max_decode_length)
      vocab = logits.shape[-1]
      log_probs = jax.nn.log_softmax(logits).reshape(batch, beams, vocab)
      log_probs = log_probs + live_lp[:, :, None]
      topk_lp, topk_idx = lax.top_k(log_probs.reshape(batch, beams * vocab), 2 * beams)
      topk_ids = (topk_idx % vocab).astype(jnp.int32)
      topk_beam = topk_idx // vocab
      topk_seq = _gather_beams(live_seqs, topk_beam)
      topk_seq = lax.dynamic_update_slice(topk_seq, topk_ids[:, :, None], (0, 0, i + 1))
      newly_finished = topk_ids == eos_id

      # Live set: best k of the 2k candidates that did not just finish (ascending order).
      new_lp = topk_lp + newly_finished * NEG_INF
      keep = jnp.flip(lax.top_k(new_lp, beams)[1], axis=1)
      live_seqs = _gather_beams(topk_seq, keep)
      live_lp = _gather_beams(new_lp, keep)
      cache = _gather_cache(cache, _gather_beams(topk_beam, keep), batch, beams)

      # Finished set: merge the old finished with the candidates that just finished.
      new_scores = topk_lp / brevity_penalty(alpha, (i + 1).astype(jnp.float32))
      new_scores = new_scores + (~newly_finished) * NEG_INF
      all_seqs = jnp.concatenate([fin_seqs, topk_seq], axis=1)
      all_scores = jnp.concatenate([fin_scores, new_scores], axis=1)
      all_flags = jnp.concatenate([fin_flags, newly_finished], axis=1)
      best = jnp.flip(lax.top_k(all_scores, beams)[1], axis=1)
      return (i + 1, live_lp, _gather_beams(all_scores, best), live_seqs,
              _gather_beams(all_seqs, best), _gather_beams(all_flags, best), cache)

    live_lp = jnp.tile(jnp.array([0.0] + [NEG_INF] * (beams - 1), jnp.float32), (batch, 1))
    state = (jnp.array(0, jnp.int32), live_lp, jnp.full((batch, beams), NEG_INF, jnp.float32),
             jnp.zeros((batch, beams, total), jnp.int32),
             jnp.zeros((batch, beams, total), jnp.int32), jnp.zeros((batch, beams), bool), cache)
    _, live_lp, fin_scores, live_seqs, fin_seqs, fin_flags, _ = lax.while_loop(cond, body, state)
    any_finished = jnp.any(fin_flags, axis=1)
    seqs = jnp.where(any_finished[:, None, None], fin_seqs, live_seqs)
    scores = jnp.where(any_finished[:, None], fin_scores, live_lp)
    return seqs[:, :, 1:], scores

  return jax.jit(run)


@functools.lru_cache(maxsize=16)
def _cached_beam_fn(*key):
  return _beam_fn(*key)


def beam_search(model: Any, params, encoder_input_tokens: Array, max_decode_length: int,
                num_beams: int = 4, alpha: float = 0.6, eos_id: int = EOS_ID,
                return_all_beams: bool = False) -> Tuple[Array, Array]:
  """Beam search. Returns the best beam (tokens [b, l], score [b]); with `return_all_beams`
  all beams [b, k, l] / [b, k] in ascending score order (best last), as T5X does."""
  config = as_config(model)
  fn = _cached_beam_fn(config, int(max_decode_length), int(num_beams), float(alpha), int(eos_id))
  seqs, scores = fn(params, jnp.asarray(encoder_input_tokens))
  if return_all_beams:
    return seqs, scores
  return seqs[:, -1], scores[:, -1]


def sequence_log_probs(model: Any, params, encoder_input_tokens: Array,
                       decoder_target_tokens: Array) -> Array:
  """Teacher-forced sum of log p(target_t) over non-pad targets (T5X's `score_batch`)."""
  return _score_fn(as_config(model))(params, jnp.asarray(encoder_input_tokens),
                           jnp.asarray(decoder_target_tokens))


@functools.lru_cache(maxsize=16)
def _score_fn(config: T5Config):
  model = Transformer(config)

  def run(params, encoder_input_tokens, targets):
    targets = targets.astype(jnp.int32)
    inputs = jnp.pad(targets[:, :-1], ((0, 0), (1, 0)))
    logits = model.apply({'params': params}, encoder_input_tokens, inputs, targets,
                         enable_dropout=False)
    lp = jax.nn.log_softmax(logits.astype(jnp.float32))
    token = jnp.take_along_axis(lp, targets[..., None], axis=-1)[..., 0]
    return jnp.sum(token * (targets > 0), axis=-1)

  return jax.jit(run)


def shift_right(targets: Array, start_id: int = 0) -> Array:
  """decoder_input_tokens from decoder_target_tokens (start token in front)."""
  targets = jnp.asarray(targets)
  return jnp.pad(targets[:, :-1], ((0, 0), (1, 0)), constant_values=start_id)
