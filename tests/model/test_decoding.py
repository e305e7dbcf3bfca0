"""Cached decoding agrees with teacher-forced full passes; sampling semantics; one compile."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from recsaver_t5x.model import decoding
from recsaver_t5x.model.network import Transformer

from .conftest import random_tokens, small_config

CONFIG = small_config()
LENGTH = 14


@pytest.fixture(scope='module')
def params(small_params):
  p = jax.tree.map(lambda x: x, small_params)
  # Make EOS likely enough that some rows stop early and others run to the length limit.
  kernel = p['decoder']['logits_dense']['kernel']
  p['decoder']['logits_dense']['kernel'] = kernel.at[:, 1].multiply(3.0)
  return p


@pytest.fixture(scope='module')
def inputs():
  return random_tokens(np.random.default_rng(0), [9, 4, 12, 7, 1, 12], 12, CONFIG.vocab_size)


def _teacher_forced(params, enc, tokens):
  """Full (uncached) pass over the decoded tokens: logits [b, l, v]."""
  dec_in = np.pad(tokens[:, :-1], ((0, 0), (1, 0)))
  # The decoder mask comes from the targets: valid up to and including EOS. (Not `tokens`
  # itself: a sampled sequence may contain the pad id 0 before its EOS.)
  targets = _valid(tokens).astype(np.int32)
  return np.asarray(jax.jit(lambda p, *a: Transformer(CONFIG).apply(
      {'params': p}, *a, enable_dropout=False))(params, enc, dec_in, targets))


def _log_softmax(x):
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _valid(tokens):
  """Positions up to and including the first EOS (all positions when there is none)."""
  eos_before = np.cumsum(tokens == 1, axis=1) - (tokens == 1)
  return eos_before == 0


def test_greedy_equals_argmax_of_teacher_forced_logits(params, inputs):
  tokens, scores = decoding.greedy_decode(CONFIG, params, inputs, LENGTH)
  tokens, scores = np.asarray(tokens), np.asarray(scores)
  ended = (tokens == 1).any(axis=1)
  assert ended.any() and (~ended).any(), 'want rows that stop at EOS and rows that do not'
  logits = _teacher_forced(params, inputs, tokens)
  valid = _valid(tokens)
  np.testing.assert_array_equal(np.argmax(logits, -1)[valid], tokens[valid])
  # Zeros after EOS, none before it.
  for row in tokens:
    if 1 in row.tolist():
      end = row.tolist().index(1)
      assert (row[end + 1:] == 0).all() and (row[:end] != 0).all()
  token_lp = np.take_along_axis(_log_softmax(logits), tokens[..., None], -1)[..., 0]
  np.testing.assert_allclose(scores, (token_lp * valid).sum(1), atol=1e-4)


def test_cached_step_logits_equal_full_pass(params, inputs):
  """Every cached step's logits equal the full pass at that position (not only the argmax)."""
  tokens = np.asarray(decoding.greedy_decode(CONFIG, params, inputs, LENGTH)[0])
  full = _teacher_forced(params, inputs, tokens)
  model = Transformer(CONFIG)
  enc = jnp.asarray(inputs)
  encoded = decoding._encode(model, params, enc)  # pylint: disable=protected-access
  cache = decoding._init_cache(model, params, encoded, enc, LENGTH)  # pylint: disable=protected-access
  cur = jnp.zeros((inputs.shape[0],), jnp.int32)
  valid = _valid(tokens)
  for t in range(LENGTH):
    logits, cache = decoding._step(model, params, cache, encoded, enc, cur, LENGTH)  # pylint: disable=protected-access
    np.testing.assert_allclose(np.asarray(logits)[valid[:, t]], full[valid[:, t], t], atol=1e-5)
    cur = jnp.asarray(tokens[:, t])


def test_compiled_once_per_shape(params, inputs):
  decoding._cached_sample_fn.cache_clear()  # pylint: disable=protected-access
  decoding.greedy_decode(CONFIG, params, inputs, LENGTH)
  decoding.greedy_decode(CONFIG, params, inputs[::-1].copy(), LENGTH)
  fn = decoding._cached_sample_fn(CONFIG, LENGTH, True, 0, 1, 1)  # pylint: disable=protected-access
  assert fn._cache_size() == 1  # pylint: disable=protected-access


def test_top_k_one_sampling_is_greedy(params, inputs):
  greedy = np.asarray(decoding.greedy_decode(CONFIG, params, inputs, LENGTH)[0])
  sampled = np.asarray(decoding.temperature_sample(CONFIG, params, inputs, LENGTH,
                                                   jax.random.PRNGKey(5), temperature=1.0,
                                                   top_k=1)[0])
  np.testing.assert_array_equal(sampled, greedy)
  zero_t = np.asarray(decoding.temperature_sample(CONFIG, params, inputs, LENGTH,
                                                  jax.random.PRNGKey(5), temperature=0.0)[0])
  np.testing.assert_array_equal(zero_t, greedy)


def test_top_k_sampling_stays_in_top_k_and_scores(params, inputs):
  k = 3
  tokens, scores = decoding.temperature_sample(CONFIG, params, inputs, LENGTH,
                                               jax.random.PRNGKey(0), temperature=2.0, top_k=k,
                                               num_decodes=4)
  tokens, scores = np.asarray(tokens), np.asarray(scores)
  assert tokens.shape == (inputs.shape[0], 4, LENGTH) and scores.shape == (inputs.shape[0], 4)
  flat = tokens.reshape(-1, LENGTH)
  enc = np.repeat(inputs, 4, axis=0)
  logits = _teacher_forced(params, enc, flat)
  valid = _valid(flat)
  topk = np.argsort(-logits, axis=-1)[..., :k]
  assert (topk == flat[..., None]).any(-1)[valid].all()
  assert len({tuple(r) for r in flat}) > inputs.shape[0]  # samples differ
  token_lp = np.take_along_axis(_log_softmax(logits), flat[..., None], -1)[..., 0]
  np.testing.assert_allclose(scores.reshape(-1), (token_lp * valid).sum(1), atol=1e-4)
  again = np.asarray(decoding.temperature_sample(CONFIG, params, inputs, LENGTH,
                                                 jax.random.PRNGKey(0), temperature=2.0,
                                                 top_k=k, num_decodes=4)[0])
  np.testing.assert_array_equal(again, tokens)


def test_beam_scores_are_length_normalised_log_probs(params, inputs):
  tokens, scores = decoding.beam_search(CONFIG, params, inputs, LENGTH, num_beams=3, alpha=0.6,
                                        return_all_beams=True)
  tokens, scores = np.asarray(tokens), np.asarray(scores)
  assert tokens.shape == (inputs.shape[0], 3, LENGTH)
  assert (np.diff(scores, axis=1) >= -1e-6).all()  # ascending, best last
  best = tokens[:, -1]
  logits = _teacher_forced(params, inputs, best)
  valid = _valid(best)
  lp = (np.take_along_axis(_log_softmax(logits), best[..., None], -1)[..., 0] * valid).sum(1)
  ended = (best == 1).any(1)
  length = valid.sum(1)
  expected = np.where(ended, lp / ((5.0 + length) / 6.0) ** 0.6, lp)
  np.testing.assert_allclose(scores[:, -1], expected, atol=1e-4)
  greedy, greedy_lp = decoding.greedy_decode(CONFIG, params, inputs, LENGTH)
  greedy, greedy_lp = np.asarray(greedy), np.asarray(greedy_lp)
  g_len = _valid(greedy).sum(1)
  g_ended = (greedy == 1).any(1)
  # Beam search never ends worse than the greedy path when both finish.
  both = ended & g_ended
  g_score = greedy_lp / ((5.0 + g_len) / 6.0) ** 0.6
  assert (scores[both, -1] >= g_score[both] - 1e-4).all()


def test_shared_encoder_output(params, inputs):
  encoded = decoding.encode(CONFIG, params, inputs)
  a = decoding.greedy_decode(CONFIG, params, inputs, LENGTH)
  b = decoding.greedy_decode(CONFIG, params, inputs, LENGTH, encoded=encoded)
  np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
  np.testing.assert_allclose(np.asarray(a[1]), np.asarray(b[1]), atol=1e-6)
