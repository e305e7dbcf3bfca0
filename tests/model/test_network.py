"""Network behaviour: named configs, logical axes, packing masks, dropout, dtypes, remat."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import checkpoints, config as config_lib, network, partitioning
from recsaver_t5x.model.config import T5Config
from recsaver_t5x.model.network import Transformer

from .conftest import random_tokens, small_config

SMALL = small_config()


def _apply(config, params, *args, **kwargs):
  return jax.jit(lambda p, *a: Transformer(config).apply({'params': p}, *a, **kwargs))(
      params, *args)


@pytest.mark.parametrize('name,expected_params', [
    # transformers' own count for the same shapes (meta device, untied head) is compared
    # below; these are the published Flan-T5 sizes.
    ('small', 76_961_152), ('base', 247_577_856), ('large', 783_150_080),
    ('xl', 2_849_757_184), ('xxl', 11_135_332_352)])
def test_named_configs_have_flan_t5_sizes(name, expected_params):
  cfg = config_lib.get_config(name)
  shapes = jax.eval_shape(lambda: network.init_params(cfg, jax.random.PRNGKey(0), 1, 1, 1))
  n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes))
  assert n == expected_params


def test_named_config_sizes_agree_with_transformers():
  torch = pytest.importorskip('torch')
  transformers = pytest.importorskip('transformers')
  for name in ('small', 'base'):
    cfg = config_lib.get_config(name)
    with torch.device('meta'):
      hf = transformers.T5ForConditionalGeneration(
          transformers.T5Config(**checkpoints.hf_config_dict(cfg)))
    hf_n = sum(p.numel() for p in hf.parameters()) + hf.lm_head.weight.numel()  # untied head
    shapes = jax.eval_shape(lambda c=cfg: network.init_params(c, jax.random.PRNGKey(0), 1, 1, 1))
    assert sum(int(np.prod(x.shape)) for x in jax.tree.leaves(shapes)) == hf_n


def test_get_config_overrides_and_errors():
  cfg = config_lib.get_config('base', dtype='bfloat16', dropout_rate=0.0)
  assert (cfg.emb_dim, cfg.num_heads, cfg.mlp_dim, cfg.num_encoder_layers) == (768, 12, 2048, 12)
  assert cfg.dtype == 'bfloat16' and cfg.vocab_size == 32128
  with pytest.raises(UserFacingError):
    config_lib.get_config('huge')
  with pytest.raises(UserFacingError):
    T5Config(vocab_size=10, dtype='float16')
  assert T5Config.from_dict(cfg.to_dict()) == cfg
  hash(cfg)  # usable as a jit cache key


def test_logical_axes_of_params():
  axes = checkpoints.flatten(partitioning.logical_param_axes(SMALL))
  assert tuple(axes['token_embedder/embedding']) == ('vocab', 'embed')
  assert tuple(axes['encoder/relpos_bias/rel_embedding']) == ('heads', 'relpos_buckets')
  assert tuple(axes['encoder/layers_0/attention/query/kernel']) == ('embed', 'joined_kv')
  assert tuple(axes['decoder/layers_1/encoder_decoder_attention/out/kernel']) == (
      'joined_kv', 'embed')
  assert tuple(axes['decoder/layers_0/mlp/wi_1/kernel']) == ('embed', 'mlp')
  assert tuple(axes['decoder/layers_0/mlp/wo/kernel']) == ('mlp', 'embed')
  assert tuple(axes['decoder/decoder_norm/scale']) == ('embed',)
  assert tuple(axes['decoder/logits_dense/kernel']) == ('embed', 'vocab')
  rules = dict(partitioning.standard_logical_axis_rules())
  assert rules['batch'] == 'data' and rules['vocab'] == 'model' and rules['embed'] is None


def test_packed_segments_are_isolated(small_params):
  """Segment ids block attention across packed examples (T5X semantics)."""
  params = small_params
  rng = np.random.default_rng(0)
  # Row: example A (enc 5, dec 4) then example B (enc 6, dec 5), then padding.
  enc = np.zeros((1, 14), np.int32)
  enc[0, :11] = rng.integers(3, 128, 11)
  enc_seg = np.array([[1] * 5 + [2] * 6 + [0] * 3])
  tgt = np.zeros((1, 10), np.int32)
  tgt[0, :9] = rng.integers(3, 128, 9)
  dec_seg = np.array([[1] * 4 + [2] * 5 + [0]])
  dec_in = np.where(np.arange(10) == 4, 0, np.pad(tgt[:, :-1], ((0, 0), (1, 0))))  # restart
  packed = np.asarray(_apply(SMALL, params, enc, dec_in, tgt, enc_seg, dec_seg,
                             enable_dropout=False))
  # Example A alone (positions unchanged, since A comes first).
  alone = np.asarray(_apply(SMALL, params, enc[:, :5], dec_in[:, :4], tgt[:, :4],
                            enable_dropout=False))
  np.testing.assert_allclose(packed[0, :4], alone[0], atol=1e-5)
  # Changing A's tokens leaves B's logits unchanged.
  enc2, tgt2 = enc.copy(), tgt.copy()
  enc2[0, :5] = rng.integers(3, 128, 5)
  tgt2[0, :4] = rng.integers(3, 128, 4)
  dec_in2 = np.where(np.arange(10) == 4, 0, np.pad(tgt2[:, :-1], ((0, 0), (1, 0))))
  packed2 = np.asarray(_apply(SMALL, params, enc2, dec_in2, tgt2, enc_seg, dec_seg,
                              enable_dropout=False))
  np.testing.assert_allclose(packed2[0, 4:9], packed[0, 4:9], atol=1e-5)
  assert np.abs(packed2[0, :4] - packed[0, :4]).max() > 1e-3


def test_dropout_is_active_only_when_enabled(small_params):
  cfg = SMALL.replace(dropout_rate=0.3)
  params = small_params
  rng = np.random.default_rng(1)
  enc = random_tokens(rng, [6, 8], 8, 128)
  tgt = random_tokens(rng, [5, 3], 6, 128)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))
  run = jax.jit(lambda p, r, on, c=cfg: Transformer(c).apply(
      {'params': p}, enc, dec_in, tgt, enable_dropout=on, rngs={'dropout': r}),
      static_argnums=2)
  off = run(params, jax.random.PRNGKey(0), False)
  off_ref = _apply(SMALL, params, enc, dec_in, tgt, enable_dropout=False)
  np.testing.assert_array_equal(np.asarray(off), np.asarray(off_ref))
  on = [run(params, jax.random.PRNGKey(i), True) for i in range(2)]
  assert np.abs(np.asarray(on[0]) - np.asarray(on[1])).max() > 1e-3


def test_bfloat16_activations_close_to_float32(small_params):
  params = small_params
  rng = np.random.default_rng(2)
  enc = random_tokens(rng, [6, 8], 8, 128)
  tgt = random_tokens(rng, [5, 3], 6, 128)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))
  f32 = np.asarray(_apply(SMALL, params, enc, dec_in, tgt, enable_dropout=False))
  bf16_cfg = SMALL.replace(dtype='bfloat16', param_dtype='bfloat16')
  bf16_params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), params)
  bf16 = _apply(bf16_cfg, bf16_params, enc, dec_in, tgt, enable_dropout=False)
  assert bf16.dtype == jnp.float32  # logits are float32 in any case
  valid = tgt > 0
  scale = np.abs(f32[valid]).max()
  assert np.abs(np.asarray(bf16) - f32)[valid].max() < 0.05 * scale
  # The initialiser honours param_dtype.
  shapes = jax.eval_shape(lambda: network.init_params(bf16_cfg, jax.random.PRNGKey(0)))
  assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(shapes))


def test_remat_gives_same_values_and_gradients(small_params):
  params = small_params
  rng = np.random.default_rng(4)
  enc = random_tokens(rng, [6, 8], 8, 128)
  tgt = random_tokens(rng, [5, 3], 6, 128)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))

  def loss(p, cfg):
    logits = Transformer(cfg).apply({'params': p}, enc, dec_in, tgt, enable_dropout=False)
    lp = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.take_along_axis(lp, tgt[..., None], -1)[..., 0] * (tgt > 0))

  a, ga = jax.jit(jax.value_and_grad(lambda p: loss(p, SMALL)))(params)
  b, gb = jax.jit(jax.value_and_grad(lambda p: loss(p, SMALL.replace(remat=True))))(params)
  np.testing.assert_allclose(a, b, rtol=1e-6)
  assert checkpoints.tree_max_abs_diff(jax.device_get(ga), jax.device_get(gb)) < 1e-5


@pytest.mark.parametrize('tied', [False, True])
def test_pre_logits_and_output_logits(small_params, tied):
  cfg = SMALL.replace(logits_via_embedding=tied)
  params = dict(small_params)
  if tied:
    params['decoder'] = {k: v for k, v in params['decoder'].items() if k != 'logits_dense'}
  rng = np.random.default_rng(5)
  enc = random_tokens(rng, [6, 8], 8, 128)
  tgt = random_tokens(rng, [5, 3], 6, 128)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))
  model = Transformer(cfg)

  @jax.jit
  def run(p):
    logits = model.apply({'params': p}, enc, dec_in, tgt, enable_dropout=False)
    encoded = model.apply({'params': p}, enc, enable_dropout=False, method=Transformer.encode)
    states = model.apply({'params': p}, encoded, enc, dec_in, tgt, enable_dropout=False,
                         return_pre_logits=True, method=Transformer.decode)
    full = model.apply({'params': p}, states, method=Transformer.output_logits)
    some = model.apply({'params': p}, states, jnp.array([7, 1, 99]),
                       method=Transformer.output_logits)
    return logits, full, some

  logits, full, some = map(np.asarray, run(params))
  np.testing.assert_allclose(full, logits, atol=1e-5)
  np.testing.assert_allclose(some, logits[..., [7, 1, 99]], atol=1e-5)
