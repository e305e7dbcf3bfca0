"""Equality with the real T5X: checkpoints in both formats, logits, scores, decodes, buckets."""
import numpy as np
import pytest

from recsaver_t5x.model import checkpoints, decoding, network
from recsaver_t5x.model.network import Transformer


def test_config_from_fixture(fixture_config):
  c = fixture_config
  assert (c.vocab_size, c.emb_dim, c.num_heads, c.head_dim, c.mlp_dim) == (128, 16, 4, 8, 32)
  assert (c.num_encoder_layers, c.num_decoder_layers) == (2, 2)
  assert c.mlp_activations == ('gelu', 'linear') and c.dtype == 'float32'
  assert not c.logits_via_embedding and c.dropout_rate == 0.0


def test_legacy_and_orbax_checkpoints_load_identically(t5x_dir, fixture_params):
  orbax_params = checkpoints.load_t5x_checkpoint(str(t5x_dir / 'orbax' / 'checkpoint_40'))
  assert checkpoints.tree_max_abs_diff(fixture_params, orbax_params) == 0.0
  flat = checkpoints.flatten(fixture_params)
  assert len(flat) == 52
  assert all(v.dtype == np.float32 for v in flat.values())
  # Not the initial weights: norm scales start at 1.0.
  assert np.max(np.abs(flat['encoder/encoder_norm/scale'] - 1.0)) > 0.1


def test_param_tree_is_t5x_tree(fixture_config, fixture_params):
  import jax
  ours = checkpoints.flatten(network.init_params(fixture_config, jax.random.PRNGKey(0)))
  theirs = checkpoints.flatten(fixture_params)
  assert sorted(ours) == sorted(theirs)
  assert all(ours[k].shape == theirs[k].shape for k in ours)


def _logits(config, params, e):
  import jax
  apply = jax.jit(lambda p, *a: Transformer(config).apply({'params': p}, *a, enable_dropout=False))
  return np.asarray(apply(params, e['encoder_input_tokens'], e['decoder_input_tokens'],
                          e['decoder_target_tokens']))


def test_logits_match_t5x(fixture_config, fixture_params, expected):
  logits = _logits(fixture_config, fixture_params, expected)
  valid = expected['decoder_target_tokens'] > 0
  assert np.abs(logits - expected['logits'])[valid].max() <= 1e-5
  # T5X's masking is replicated exactly, so padded positions match too.
  assert np.abs(logits - expected['logits']).max() <= 1e-5


def test_encoder_outputs_match_t5x(fixture_config, fixture_params, expected):
  model = Transformer(fixture_config)
  enc = np.asarray(model.apply({'params': fixture_params}, expected['encoder_input_tokens'],
                               enable_dropout=False, method=Transformer.encode))
  valid = expected['encoder_input_tokens'] > 0
  assert np.abs(enc - expected['encoder_outputs'])[valid].max() <= 1e-5


def test_scores_match_t5x(fixture_config, fixture_params, expected):
  logits = _logits(fixture_config, fixture_params, expected)
  logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
      - logits.max(-1, keepdims=True)
  tgt = expected['decoder_target_tokens']
  token = np.take_along_axis(logp, tgt[..., None], -1)[..., 0] * expected['decoder_loss_weights']
  assert np.abs(token - expected['token_scores']).max() <= 1e-4
  seq = np.asarray(decoding.sequence_log_probs(fixture_config, fixture_params,
                                               expected['encoder_input_tokens'], tgt))
  assert np.abs(seq - expected['sequence_scores']).max() <= 1e-4


def test_greedy_decodes_match_t5x(fixture_config, fixture_params, expected):
  tokens, scores = decoding.greedy_decode(fixture_config, fixture_params,
                                          expected['encoder_input_tokens'],
                                          expected['predict_decoder_input_tokens'].shape[1])
  np.testing.assert_array_equal(np.asarray(tokens), expected['greedy_decodes'])
  assert np.abs(np.asarray(scores) - expected['greedy_scores']).max() <= 1e-4


def test_beam_decodes_match_t5x(fixture_config, fixture_params, expected):
  tokens, scores = decoding.beam_search(fixture_config, fixture_params,
                                        expected['encoder_input_tokens'], 12, num_beams=4,
                                        alpha=0.6)
  np.testing.assert_array_equal(np.asarray(tokens), expected['beam4_decodes'])
  assert np.abs(np.asarray(scores) - expected['beam4_scores']).max() <= 1e-4


@pytest.mark.parametrize('bidirectional,key', [(True, 'relpos_bucket_bidirectional'),
                                               (False, 'relpos_bucket_unidirectional')])
def test_relative_position_buckets_match_t5x(expected, bidirectional, key):
  got = network.relative_position_bucket(expected['relpos_relative_position'], bidirectional,
                                         32, 128)
  np.testing.assert_array_equal(got, expected[key])


def test_sentencepiece_ids_match(t5x_dir, expected):
  from recsaver_t5x.model.vocab import get_vocabulary
  vocab = get_vocabulary(str(t5x_dir / 'spm.model'))
  for i, text in enumerate(expected['spm_texts']):
    assert list(vocab.encode(str(text))) == expected[f'spm_ids_{i}'].tolist()
  assert vocab.decode(expected['greedy_decodes'][0].tolist()) == str(
      expected['greedy_decode_texts'][0])
