"""T5 v1.1 / Flan-T5 encoder-decoder in Flax linen, with T5X's parameter names and semantics.

The parameter tree is named exactly like `t5x/examples/t5/network.py`, so T5X checkpoints load
without renaming. Parameters carry logical axis names (`nn.with_logical_partitioning`) and
activations logical sharding constraints (`nn.with_logical_constraint`); under a mesh and a
rule table (see `partitioning.py`) the same code runs sharded.

Differences from T5X that do not change results: embedding lookups are gathers rather than
one-hot matmuls, and decoding caches the cross-attention keys/values and the decoder position,
with the key/value cache laid out as [batch, length, heads, head_dim].
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Optional, Sequence

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.model.config import T5Config

Array = jax.Array
Initializer = Callable[..., Array]

# T5X's additive mask value: a masked logit is q.k + bias - 1e10 (not -inf).
MASK_VALUE = -1e10

_default_kernel_init = nn.initializers.variance_scaling(1.0, 'fan_in', 'truncated_normal')
_attention_kernel_init = nn.initializers.variance_scaling(1.0, 'fan_in', 'normal')
_relpos_init = nn.initializers.variance_scaling(1.0, 'fan_avg', 'uniform')


def _constraint(x: Array, axes: tuple) -> Array:
  return nn.with_logical_constraint(x, axes)


# -------------------------------------------------------------------------------------------
# Relative position buckets.
# -------------------------------------------------------------------------------------------
def relative_position_bucket(relative_position: np.ndarray, bidirectional: bool = True,
                             num_buckets: int = 32, max_distance: int = 128) -> np.ndarray:
  """T5's bucket of `memory_position - query_position` (numpy, float32 arithmetic as T5X)."""
  relative_position = np.asarray(relative_position, dtype=np.int32)
  ret = np.zeros_like(relative_position)
  n = -relative_position
  if bidirectional:
    num_buckets //= 2
    ret += (n < 0).astype(np.int32) * num_buckets
    n = np.abs(n)
  else:
    n = np.maximum(n, 0)
  max_exact = num_buckets // 2
  is_small = n < max_exact
  val_if_large = max_exact + (
      np.log(n.astype(np.float32) / max_exact + np.finfo(np.float32).eps)
      / np.log(max_distance / max_exact) * (num_buckets - max_exact)).astype(np.int32)
  val_if_large = np.minimum(val_if_large, num_buckets - 1)
  return ret + np.where(is_small, n, val_if_large)


@functools.lru_cache(maxsize=64)
def _bucket_table(qlen: int, klen: int, bidirectional: bool, num_buckets: int,
                  max_distance: int) -> np.ndarray:
  rel = np.arange(klen, dtype=np.int32)[None, :] - np.arange(qlen, dtype=np.int32)[:, None]
  table = relative_position_bucket(rel, bidirectional, num_buckets, max_distance)
  table.setflags(write=False)
  return table


class RelativePositionBiases(nn.Module):
  """Per-head relative position bias, one table [heads, buckets] per stack."""
  num_buckets: int
  max_distance: int
  num_heads: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  embedding_init: Initializer = _relpos_init

  @nn.compact
  def __call__(self, qlen: int, klen: int, bidirectional: bool = True,
               query_position: Optional[Array] = None) -> Array:
    """Returns a [1, heads, qlen, klen] bias.

    With `query_position` (a traced scalar, for cached decoding) `qlen` must be 1 and the row
    for that absolute query position among `klen` key positions is returned.
    """
    table = self.param(
        'rel_embedding',
        nn.with_logical_partitioning(self.embedding_init, ('heads', 'relpos_buckets')),
        (self.num_heads, self.num_buckets), self.param_dtype)
    table = jnp.asarray(table, self.dtype)
    if query_position is None:
      buckets = jnp.asarray(_bucket_table(qlen, klen, bidirectional, self.num_buckets,
                                          self.max_distance))
    else:
      full = jnp.asarray(_bucket_table(klen, klen, bidirectional, self.num_buckets,
                                       self.max_distance))
      buckets = lax.dynamic_slice_in_dim(full, query_position, 1, axis=0)
    # [heads, buckets] gathered by [q, k] -> [heads, q, k]
    values = jnp.take(table, buckets, axis=1)
    return values[jnp.newaxis]


# -------------------------------------------------------------------------------------------
# Basic layers.
# -------------------------------------------------------------------------------------------
class LayerNorm(nn.Module):
  """T5 RMS norm: no mean subtraction, no bias; statistics in float32."""
  epsilon: float = 1e-6
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: Array) -> Array:
    x = jnp.asarray(x, jnp.float32)
    mean2 = jnp.mean(lax.square(x), axis=-1, keepdims=True)
    y = jnp.asarray(x * lax.rsqrt(mean2 + self.epsilon), self.dtype)
    scale = self.param('scale', nn.with_logical_partitioning(nn.initializers.ones, ('embed',)),
                       (x.shape[-1],), self.param_dtype)
    return y * jnp.asarray(scale, self.dtype)


def _as_tuple(x) -> tuple:
  return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class DenseGeneral(nn.Module):
  """Bias-free linear map over several axes; the kernel is stored 2-D [prod(in), prod(out)]."""
  features: Any
  axis: Any = -1
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  kernel_init: Initializer = _default_kernel_init
  kernel_axes: tuple = ()

  @nn.compact
  def __call__(self, inputs: Array) -> Array:
    features = _as_tuple(self.features)
    inputs = jnp.asarray(inputs, self.dtype)
    axis = tuple(a if a >= 0 else inputs.ndim + a for a in _as_tuple(self.axis))
    in_shape = tuple(inputs.shape[a] for a in axis)
    kernel = self.param('kernel', nn.with_logical_partitioning(self.kernel_init, self.kernel_axes),
                        (int(np.prod(in_shape)), int(np.prod(features))), self.param_dtype)
    kernel = jnp.asarray(kernel, self.dtype).reshape(in_shape + features)
    contract = tuple(range(len(axis)))
    return lax.dot_general(inputs, kernel, ((axis, contract), ((), ())))


def _activation(name: str) -> Callable[[Array], Array]:
  if name == 'linear':
    return lambda x: x
  if name == 'gelu':  # flax default: tanh approximation (HF 'gelu_new'), as in T5X
    return nn.gelu
  if name == 'gelu_exact':
    return functools.partial(nn.gelu, approximate=False)
  return getattr(nn, name)


class MlpBlock(nn.Module):
  """Gated feed-forward: prod_i act_i(x @ wi_i) @ wo (one 'wi' when there is one activation)."""
  intermediate_dim: int
  activations: Sequence[str] = ('gelu', 'linear')
  intermediate_dropout_rate: float = 0.1
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, inputs: Array, deterministic: bool = False) -> Array:
    hidden = []
    for idx, act in enumerate(self.activations):
      name = 'wi' if len(self.activations) == 1 else f'wi_{idx}'
      x = DenseGeneral(self.intermediate_dim, dtype=self.dtype, param_dtype=self.param_dtype,
                       kernel_axes=('embed', 'mlp'), name=name)(inputs)
      hidden.append(_activation(act)(x))
    x = functools.reduce(operator.mul, hidden)
    x = nn.Dropout(rate=self.intermediate_dropout_rate, broadcast_dims=(-2,))(
        x, deterministic=deterministic)
    x = _constraint(x, ('batch', 'length', 'mlp'))
    return DenseGeneral(inputs.shape[-1], dtype=self.dtype, param_dtype=self.param_dtype,
                        kernel_axes=('mlp', 'embed'), name='wo')(x)


class Embed(nn.Module):
  """Token embedding table [vocab, embed] (gather lookup; `attend` for tied logits)."""
  num_embeddings: int
  features: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  embedding_init: Initializer = nn.initializers.normal(stddev=1.0)

  def setup(self):
    self.embedding = self.param(
        'embedding', nn.with_logical_partitioning(self.embedding_init, ('vocab', 'embed')),
        (self.num_embeddings, self.features), self.param_dtype)

  def __call__(self, inputs: Array) -> Array:
    if not jnp.issubdtype(inputs.dtype, jnp.integer):
      raise ValueError('token ids must be integers')
    out = jnp.take(jnp.asarray(self.embedding, self.dtype), inputs, axis=0)
    return _constraint(out, ('batch', 'length', 'embed'))

  def attend(self, query: Array) -> Array:
    return jnp.dot(jnp.asarray(query, jnp.float32), jnp.asarray(self.embedding, jnp.float32).T)


# -------------------------------------------------------------------------------------------
# Attention.
# -------------------------------------------------------------------------------------------
def dot_product_attention(query: Array, key: Array, value: Array, bias: Optional[Array],
                          dropout_rng: Optional[Array] = None, dropout_rate: float = 0.0,
                          deterministic: bool = True, dtype: Any = jnp.float32,
                          float32_logits: bool = False) -> Array:
  """softmax(q.k + bias) v without 1/sqrt(d) scaling (folded into the query init, as in T5)."""
  if float32_logits:
    query = query.astype(jnp.float32)
    key = key.astype(jnp.float32)
  weights = jnp.einsum('bqhd,bkhd->bhqk', query, key)
  if bias is not None:
    weights = weights + bias.astype(weights.dtype)
  weights = jax.nn.softmax(weights).astype(dtype)
  if not deterministic and dropout_rate > 0.0:
    keep_prob = 1.0 - dropout_rate
    shape = list(weights.shape)
    shape[-2] = 1  # T5 broadcasts attention dropout along the query axis
    keep = jax.random.bernoulli(dropout_rng, keep_prob, shape)
    weights = weights * (jnp.broadcast_to(keep, weights.shape).astype(dtype)
                         / jnp.asarray(keep_prob, dtype))
  return jnp.einsum('bhqk,bkhd->bqhd', weights, value)


class MultiHeadDotProductAttention(nn.Module):
  """Multi-head attention with T5X parameter names (query/key/value/out)."""
  num_heads: int
  head_dim: int
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  dropout_rate: float = 0.0
  kernel_init: Initializer = _attention_kernel_init
  float32_logits: bool = False

  @nn.compact
  def __call__(self, inputs_q: Array, inputs_kv: Array, mask: Optional[Array] = None,
               bias: Optional[Array] = None, *, decode: bool = False,
               decode_position: Optional[Array] = None, is_cross_attention: bool = False,
               deterministic: bool = False) -> Array:
    """Attends `inputs_q` [b, q, e] to `inputs_kv` [b, k, e].

    `mask` is boolean, broadcastable to [b, heads, q, k]; `bias` is additive. In decode mode
    self-attention keeps a [b, length, heads, head_dim] key/value cache filled at
    `decode_position`; cross-attention caches the projected encoder keys/values once.
    The first decode-mode call (no cache yet) only creates the cache.
    """
    projection = functools.partial(
        DenseGeneral, axis=-1, features=(self.num_heads, self.head_dim),
        kernel_axes=('embed', 'joined_kv'), dtype=self.dtype, param_dtype=self.param_dtype)
    depth_scaling = jnp.sqrt(self.head_dim).astype(jnp.float32)
    def query_init(key, shape, dtype=jnp.float32):
      return (self.kernel_init(key, shape, dtype) / depth_scaling).astype(dtype)

    query = projection(kernel_init=query_init, name='query')(inputs_q)
    query = _constraint(query, ('batch', 'length', 'heads', 'kv'))

    def project_kv():
      k = projection(kernel_init=self.kernel_init, name='key')(inputs_kv)
      v = projection(kernel_init=self.kernel_init, name='value')(inputs_kv)
      return (_constraint(k, ('batch', 'length', 'heads', 'kv')),
              _constraint(v, ('batch', 'length', 'heads', 'kv')))

    if decode and is_cross_attention:
      initialized = self.has_variable('cache', 'cached_key')
      if initialized:
        key = self.get_variable('cache', 'cached_key')
        value = self.get_variable('cache', 'cached_value')
      else:
        key, value = project_kv()
        self.put_variable('cache', 'cached_key', key)
        self.put_variable('cache', 'cached_value', value)
    elif decode:
      initialized = self.has_variable('cache', 'cached_key')
      key, value = project_kv()
      cached_key = self.variable('cache', 'cached_key', jnp.zeros, key.shape, key.dtype)
      cached_value = self.variable('cache', 'cached_value', jnp.zeros, value.shape, value.dtype)
      if initialized:
        batch, length, heads, depth = cached_key.value.shape
        if query.shape != (batch, 1, heads, depth):
          raise ValueError(f'cached decoding expects query shape {(batch, 1, heads, depth)}, '
                           f'got {query.shape}')
        start = (0, decode_position, 0, 0)
        key = lax.dynamic_update_slice(cached_key.value, key.astype(cached_key.value.dtype), start)
        value = lax.dynamic_update_slice(cached_value.value,
                                         value.astype(cached_value.value.dtype), start)
        key = _constraint(key, ('batch', 'length', 'heads', 'kv'))
        value = _constraint(value, ('batch', 'length', 'heads', 'kv'))
        cached_key.value, cached_value.value = key, value
        # Attend only to positions written so far.
        step_mask = (jnp.arange(length) <= decode_position)[None, None, None, :]
        mask = step_mask if mask is None else jnp.logical_and(mask, step_mask)
    else:
      key, value = project_kv()

    attention_bias = None
    if mask is not None:
      attention_bias = jnp.where(mask, 0.0, MASK_VALUE).astype(self.dtype)
    if bias is not None:
      attention_bias = bias if attention_bias is None else attention_bias + bias

    dropout_rng = None
    if not deterministic and self.dropout_rate > 0.0:
      dropout_rng = self.make_rng('dropout')
    x = dot_product_attention(query, key, value, attention_bias, dropout_rng=dropout_rng,
                              dropout_rate=self.dropout_rate, deterministic=deterministic,
                              dtype=self.dtype, float32_logits=self.float32_logits)
    return DenseGeneral(features=inputs_q.shape[-1], axis=(-2, -1), kernel_init=self.kernel_init,
                        kernel_axes=('joined_kv', 'embed'), dtype=self.dtype,
                        param_dtype=self.param_dtype, name='out')(x)


# -------------------------------------------------------------------------------------------
# Masks.
# -------------------------------------------------------------------------------------------
def make_attention_mask(query_input: Array, key_input: Array,
                        pairwise_fn: Callable = jnp.logical_and) -> Array:
  """[b, q], [b, k] -> boolean [b, 1, q, k]."""
  mask = pairwise_fn(query_input[..., :, None], key_input[..., None, :])
  return mask[..., None, :, :].astype(bool)


def make_decoder_mask(decoder_target_tokens: Array,
                      decoder_segment_ids: Optional[Array] = None) -> Array:
  """Causal & non-pad (from the *target* tokens) & same-segment mask, [b, 1, l, l]."""
  valid = decoder_target_tokens > 0
  idx = jnp.broadcast_to(jnp.arange(decoder_target_tokens.shape[-1]), decoder_target_tokens.shape)
  mask = make_attention_mask(idx, idx, jnp.greater_equal)
  mask = jnp.logical_and(mask, make_attention_mask(valid, valid))
  if decoder_segment_ids is not None:
    mask = jnp.logical_and(mask, make_attention_mask(decoder_segment_ids, decoder_segment_ids,
                                                     jnp.equal))
  return mask


# -------------------------------------------------------------------------------------------
# Layers and stacks.
# -------------------------------------------------------------------------------------------
class EncoderLayer(nn.Module):
  config: T5Config
  relative_embedding: nn.Module

  @nn.compact
  def __call__(self, inputs: Array, encoder_mask: Optional[Array] = None,
               deterministic: bool = False) -> Array:
    cfg = self.config
    dt, pdt = cfg.activation_dtype, cfg.parameter_dtype
    length = inputs.shape[-2]
    encoder_bias = self.relative_embedding(length, length, True)
    x = LayerNorm(cfg.layer_norm_epsilon, dt, pdt, name='pre_attention_layer_norm')(inputs)
    x = MultiHeadDotProductAttention(
        num_heads=cfg.num_heads, head_dim=cfg.head_dim, dtype=dt, param_dtype=pdt,
        dropout_rate=cfg.dropout_rate, float32_logits=cfg.float32_attention_logits,
        name='attention')(x, x, encoder_mask, encoder_bias, deterministic=deterministic)
    x = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
    x = x + inputs
    y = LayerNorm(cfg.layer_norm_epsilon, dt, pdt, name='pre_mlp_layer_norm')(x)
    y = MlpBlock(intermediate_dim=cfg.mlp_dim, activations=cfg.mlp_activations,
                 intermediate_dropout_rate=cfg.dropout_rate, dtype=dt, param_dtype=pdt,
                 name='mlp')(y, deterministic=deterministic)
    y = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(y, deterministic=deterministic)
    y = y + x
    return _constraint(y, ('batch', 'length', 'embed'))


class DecoderLayer(nn.Module):
  config: T5Config
  relative_embedding: nn.Module

  @nn.compact
  def __call__(self, inputs: Array, encoded: Array, decoder_mask: Optional[Array] = None,
               encoder_decoder_mask: Optional[Array] = None, deterministic: bool = False,
               decode: bool = False, max_decode_length: Optional[int] = None,
               decode_position: Optional[Array] = None) -> Array:
    cfg = self.config
    dt, pdt = cfg.activation_dtype, cfg.parameter_dtype
    if decode and decode_position is not None:  # one cached step
      decoder_bias = self.relative_embedding(1, max_decode_length, False,
                                             query_position=decode_position)
    else:
      length = inputs.shape[-2]
      decoder_bias = self.relative_embedding(length, length, False)

    x = LayerNorm(cfg.layer_norm_epsilon, dt, pdt, name='pre_self_attention_layer_norm')(inputs)
    x = MultiHeadDotProductAttention(
        num_heads=cfg.num_heads, head_dim=cfg.head_dim, dtype=dt, param_dtype=pdt,
        dropout_rate=cfg.dropout_rate, float32_logits=cfg.float32_attention_logits,
        name='self_attention')(x, x, decoder_mask, decoder_bias, decode=decode,
                               decode_position=decode_position, deterministic=deterministic)
    x = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
    x = x + inputs

    y = LayerNorm(cfg.layer_norm_epsilon, dt, pdt, name='pre_cross_attention_layer_norm')(x)
    y = MultiHeadDotProductAttention(
        num_heads=cfg.num_heads, head_dim=cfg.head_dim, dtype=dt, param_dtype=pdt,
        dropout_rate=cfg.dropout_rate, float32_logits=cfg.float32_attention_logits,
        name='encoder_decoder_attention')(y, encoded, encoder_decoder_mask, decode=decode,
                                          is_cross_attention=True, deterministic=deterministic)
    y = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(y, deterministic=deterministic)
    y = y + x

    z = LayerNorm(cfg.layer_norm_epsilon, dt, pdt, name='pre_mlp_layer_norm')(y)
    z = MlpBlock(intermediate_dim=cfg.mlp_dim, activations=cfg.mlp_activations,
                 intermediate_dropout_rate=cfg.dropout_rate, dtype=dt, param_dtype=pdt,
                 name='mlp')(z, deterministic=deterministic)
    z = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(z, deterministic=deterministic)
    z = z + y
    return _constraint(z, ('batch', 'length', 'embed'))


def _relpos(cfg: T5Config) -> RelativePositionBiases:
  return RelativePositionBiases(
      num_buckets=cfg.relative_attention_num_buckets,
      max_distance=cfg.relative_attention_max_distance, num_heads=cfg.num_heads,
      dtype=cfg.activation_dtype, param_dtype=cfg.parameter_dtype, name='relpos_bias')


class Encoder(nn.Module):
  config: T5Config
  shared_embedding: nn.Module

  @nn.compact
  def __call__(self, encoder_input_tokens: Array, encoder_mask: Optional[Array] = None,
               deterministic: bool = False) -> Array:
    cfg = self.config
    assert encoder_input_tokens.ndim == 2, 'encoder tokens must be [batch, length]'
    rel_emb = _relpos(cfg)
    x = self.shared_embedding(encoder_input_tokens.astype(jnp.int32))
    x = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)
    x = x.astype(cfg.activation_dtype)
    layer_cls = nn.remat(EncoderLayer, static_argnums=(3,)) if cfg.remat else EncoderLayer
    for lyr in range(cfg.num_encoder_layers):
      x = layer_cls(config=cfg, relative_embedding=rel_emb, name=f'layers_{lyr}')(
          x, encoder_mask, deterministic)
    x = LayerNorm(cfg.layer_norm_epsilon, cfg.activation_dtype, cfg.parameter_dtype,
                  name='encoder_norm')(x)
    return nn.Dropout(rate=cfg.dropout_rate)(x, deterministic=deterministic)


class Decoder(nn.Module):
  config: T5Config
  shared_embedding: nn.Module

  @nn.compact
  def __call__(self, encoded: Array, decoder_input_tokens: Array,
               decoder_positions: Optional[Array] = None,
               decoder_mask: Optional[Array] = None,
               encoder_decoder_mask: Optional[Array] = None, deterministic: bool = False,
               decode: bool = False, max_decode_length: Optional[int] = None,
               return_pre_logits: bool = False) -> Array:
    del decoder_positions  # T5X's network ignores them: positions are row indices.
    cfg = self.config
    assert decoder_input_tokens.ndim == 2, 'decoder tokens must be [batch, length]'
    rel_emb = _relpos(cfg)

    decode_position = None
    if decode:
      # One scalar position shared by all layers; the first decode call only creates it.
      initialized = self.has_variable('cache', 'cache_index')
      index = self.variable('cache', 'cache_index', lambda: jnp.array(0, dtype=jnp.int32))
      if initialized:
        if max_decode_length is None:
          raise ValueError('cached decoding needs max_decode_length')
        decode_position = index.value
        index.value = index.value + 1

    y = self.shared_embedding(decoder_input_tokens.astype(jnp.int32))
    y = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(y, deterministic=deterministic)
    y = y.astype(cfg.activation_dtype)
    use_remat = cfg.remat and not decode
    layer_cls = nn.remat(DecoderLayer, static_argnums=(5, 6, 7)) if use_remat else DecoderLayer
    for lyr in range(cfg.num_decoder_layers):
      y = layer_cls(config=cfg, relative_embedding=rel_emb, name=f'layers_{lyr}')(
          y, encoded, decoder_mask, encoder_decoder_mask, deterministic, decode,
          max_decode_length, decode_position)
    y = LayerNorm(cfg.layer_norm_epsilon, cfg.activation_dtype, cfg.parameter_dtype,
                  name='decoder_norm')(y)
    y = nn.Dropout(rate=cfg.dropout_rate, broadcast_dims=(-2,))(y, deterministic=deterministic)
    if return_pre_logits:  # e.g. to project a few positions onto a few vocabulary rows
      return y
    if cfg.logits_via_embedding:
      logits = self.shared_embedding.attend(y) / jnp.sqrt(y.shape[-1]).astype(jnp.float32)
    else:
      logits = DenseGeneral(cfg.vocab_size, dtype=jnp.float32, param_dtype=cfg.parameter_dtype,
                            kernel_axes=('embed', 'vocab'), name='logits_dense')(y)
    return _constraint(logits, ('batch', 'length', 'vocab'))


class Transformer(nn.Module):
  """T5 v1.1 encoder-decoder; `__call__` returns float32 logits [batch, length, vocab]."""
  config: T5Config

  def setup(self):
    cfg = self.config
    self.shared_embedding = Embed(num_embeddings=cfg.vocab_size, features=cfg.emb_dim,
                                  dtype=cfg.activation_dtype, param_dtype=cfg.parameter_dtype,
                                  name='token_embedder')
    self.encoder = Encoder(config=cfg, shared_embedding=self.shared_embedding)
    self.decoder = Decoder(config=cfg, shared_embedding=self.shared_embedding)

  def encode(self, encoder_input_tokens: Array, encoder_segment_ids: Optional[Array] = None,
             enable_dropout: bool = True) -> Array:
    """Encoder outputs [batch, length, emb] (after the final norm)."""
    valid = encoder_input_tokens > 0
    encoder_mask = make_attention_mask(valid, valid)
    if encoder_segment_ids is not None:
      encoder_mask = jnp.logical_and(
          encoder_mask, make_attention_mask(encoder_segment_ids, encoder_segment_ids, jnp.equal))
    return self.encoder(encoder_input_tokens, encoder_mask, deterministic=not enable_dropout)

  def decode(self, encoded: Array, encoder_input_tokens: Array, decoder_input_tokens: Array,
             decoder_target_tokens: Array, encoder_segment_ids: Optional[Array] = None,
             decoder_segment_ids: Optional[Array] = None,
             decoder_positions: Optional[Array] = None, enable_dropout: bool = True,
             decode: bool = False, max_decode_length: Optional[int] = None,
             return_pre_logits: bool = False) -> Array:
    """Decoder logits given encoder outputs (masks as T5X: from token ids > 0).

    With `return_pre_logits` the final decoder states [b, l, emb] are returned instead;
    `output_logits` maps them to logits.

    Cached decoding (`decode=True`, mutable 'cache'): the first call creates the cache, and
    the cross-attention keys/values in it are computed from *that call's* `encoded`, so create
    the cache from the real encoder outputs (as `decoding.py` does), not from dummy inputs as
    T5X's `EncoderDecoderModel` does. Later calls feed one token [b, 1] per step and need
    `max_decode_length`.
    """
    if decode:
      # No target padding at inference: every decoder position may see every real input.
      decoder_mask = None
      encoder_decoder_mask = make_attention_mask(jnp.ones_like(decoder_target_tokens) > 0,
                                                 encoder_input_tokens > 0)
    else:
      decoder_mask = make_decoder_mask(decoder_target_tokens, decoder_segment_ids)
      encoder_decoder_mask = make_attention_mask(decoder_target_tokens > 0,
                                                 encoder_input_tokens > 0)
    if encoder_segment_ids is not None:
      if decode:
        raise ValueError('packing (encoder_segment_ids) is not supported while decoding')
      encoder_decoder_mask = jnp.logical_and(
          encoder_decoder_mask,
          make_attention_mask(decoder_segment_ids, encoder_segment_ids, jnp.equal))
    return self.decoder(encoded, decoder_input_tokens=decoder_input_tokens,
                        decoder_positions=decoder_positions, decoder_mask=decoder_mask,
                        encoder_decoder_mask=encoder_decoder_mask,
                        deterministic=not enable_dropout, decode=decode,
                        max_decode_length=max_decode_length,
                        return_pre_logits=return_pre_logits)

  def output_logits(self, pre_logits: Array, vocab_ids: Optional[Array] = None) -> Array:
    """Float32 logits from final decoder states, optionally only for `vocab_ids`."""
    cfg = self.config
    y = jnp.asarray(pre_logits, jnp.float32)
    if cfg.logits_via_embedding:
      table = jnp.asarray(self.shared_embedding.embedding, jnp.float32)
      if vocab_ids is not None:
        table = jnp.take(table, vocab_ids, axis=0)
      return jnp.dot(y, table.T) / jnp.sqrt(y.shape[-1]).astype(jnp.float32)
    kernel = jnp.asarray(self.variables['params']['decoder']['logits_dense']['kernel'],
                         jnp.float32)
    if vocab_ids is not None:
      kernel = jnp.take(kernel, vocab_ids, axis=1)
    return jnp.dot(y, kernel)

  def __call__(self, encoder_input_tokens: Array, decoder_input_tokens: Array,
               decoder_target_tokens: Array, encoder_segment_ids: Optional[Array] = None,
               decoder_segment_ids: Optional[Array] = None,
               encoder_positions: Optional[Array] = None,
               decoder_positions: Optional[Array] = None, *, enable_dropout: bool = True,
               decode: bool = False) -> Array:
    del encoder_positions  # relative positions always come from the index within the row
    encoded = self.encode(encoder_input_tokens, encoder_segment_ids=encoder_segment_ids,
                          enable_dropout=enable_dropout)
    return self.decode(encoded, encoder_input_tokens, decoder_input_tokens, decoder_target_tokens,
                       encoder_segment_ids=encoder_segment_ids,
                       decoder_segment_ids=decoder_segment_ids,
                       decoder_positions=decoder_positions, enable_dropout=enable_dropout,
                       decode=decode)


@functools.lru_cache(maxsize=16)
def _init_fn(config: T5Config, batch_size: int, input_length: int, target_length: int):
  model = Transformer(config)
  enc = jnp.ones((batch_size, input_length), jnp.int32)
  dec = jnp.ones((batch_size, target_length), jnp.int32)
  return jax.jit(lambda rng: model.init({'params': rng}, enc, dec, dec, enable_dropout=False))


def init_params(config: T5Config, rng: Array, batch_size: int = 1, input_length: int = 8,
                target_length: int = 8, boxed: bool = False):
  """Initialises parameters; `boxed=True` keeps the LogicallyPartitioned metadata."""
  params = _init_fn(config, batch_size, input_length, target_length)(rng)['params']
  return params if boxed else nn.meta.unbox(params)
