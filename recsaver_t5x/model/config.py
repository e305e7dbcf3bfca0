"""Hyperparameters of the T5 v1.1 / Flan-T5 network (the fields of T5X's `network.T5Config`)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

import jax.numpy as jnp

from recsaver_t5x.errors import InputError, UserFacingError

_DTYPES = ('float32', 'bfloat16')
# Activation names understood by the MLP block: flax names (T5X convention, where 'gelu' is the
# tanh approximation) plus 'gelu_exact' (erf) and 'linear'.
ACTIVATIONS = ('gelu', 'gelu_exact', 'relu', 'silu', 'linear')


@dataclasses.dataclass(frozen=True)
class T5Config:
  """Global hyperparameters of the encoder-decoder (names follow T5X's `T5Config`).

  `dtype` is the activation dtype, `param_dtype` the storage dtype of parameters. Attention
  logits, layer norms and the output logits are computed in float32 as in T5X where it says so.
  """
  vocab_size: int
  emb_dim: int = 512
  num_heads: int = 8
  head_dim: int = 64
  mlp_dim: int = 2048
  num_encoder_layers: int = 6
  num_decoder_layers: int = 6
  dropout_rate: float = 0.1
  dtype: str = 'float32'
  param_dtype: str = 'float32'
  relative_attention_num_buckets: int = 32
  relative_attention_max_distance: int = 128
  layer_norm_epsilon: float = 1e-6
  mlp_activations: Sequence[str] = ('gelu', 'linear')
  logits_via_embedding: bool = False
  float32_attention_logits: bool = False
  # Rematerialise each layer in the backward pass (saves activation memory when training).
  remat: bool = False

  def __post_init__(self):
    # Tuples keep the config hashable, so it can key jit caches.
    object.__setattr__(self, 'mlp_activations', tuple(self.mlp_activations))
    for field in ('dtype', 'param_dtype'):
      if getattr(self, field) not in _DTYPES:
        raise UserFacingError(f'T5Config.{field} must be one of {_DTYPES}, got {getattr(self, field)!r}')
    for act in self.mlp_activations:
      if act not in ACTIVATIONS:
        raise UserFacingError(f'unknown MLP activation {act!r}; expected one of {ACTIVATIONS}')
    for field in ('vocab_size', 'emb_dim', 'num_heads', 'head_dim', 'mlp_dim',
                  'relative_attention_num_buckets', 'relative_attention_max_distance'):
      if int(getattr(self, field)) <= 0:
        raise UserFacingError(f'T5Config.{field} must be positive, got {getattr(self, field)}')

  @property
  def activation_dtype(self) -> Any:
    return jnp.dtype(self.dtype)

  @property
  def parameter_dtype(self) -> Any:
    return jnp.dtype(self.param_dtype)

  def replace(self, **overrides) -> 'T5Config':
    return dataclasses.replace(self, **overrides)

  def to_dict(self) -> dict:
    d = dataclasses.asdict(self)
    d['mlp_activations'] = list(self.mlp_activations)
    return d

  @classmethod
  def from_dict(cls, d: dict) -> 'T5Config':
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
      raise UserFacingError(f'unknown T5Config fields: {unknown}')
    return cls(**d)


# Published Flan-T5 (T5 v1.1) dimensions; vocabulary 32128 rows (32100 pieces + padding rows).
_NAMED = {
    # The T5X `t5_1_1/tiny.gin` shape: for tests and smoke runs.
    'tiny': dict(emb_dim=8, num_heads=4, head_dim=3, mlp_dim=16,
                 num_encoder_layers=2, num_decoder_layers=2),
    'small': dict(emb_dim=512, num_heads=6, head_dim=64, mlp_dim=1024,
                  num_encoder_layers=8, num_decoder_layers=8),
    'base': dict(emb_dim=768, num_heads=12, head_dim=64, mlp_dim=2048,
                 num_encoder_layers=12, num_decoder_layers=12),
    'large': dict(emb_dim=1024, num_heads=16, head_dim=64, mlp_dim=2816,
                  num_encoder_layers=24, num_decoder_layers=24),
    'xl': dict(emb_dim=2048, num_heads=32, head_dim=64, mlp_dim=5120,
               num_encoder_layers=24, num_decoder_layers=24),
    'xxl': dict(emb_dim=4096, num_heads=64, head_dim=64, mlp_dim=10240,
                num_encoder_layers=24, num_decoder_layers=24),
}
CONFIG_NAMES = tuple(_NAMED)
FLAN_T5_VOCAB_SIZE = 32128


def get_config(name: str, **overrides) -> T5Config:
  """Returns the named Flan-T5 config ('tiny', 'small', 'base', 'large', 'xl', 'xxl')."""
  if name not in _NAMED:
    raise UserFacingError(f'unknown model config {name!r}; expected one of {CONFIG_NAMES}')
  kwargs = dict(vocab_size=FLAN_T5_VOCAB_SIZE, **_NAMED[name])
  kwargs.update(overrides)
  return T5Config(**kwargs)


def from_fixture_json(path: str) -> T5Config:
  """Reads a T5X-style config JSON (e.g. `shared/fixtures/t5x_tiny/config.json`).

  Keys that are not T5Config fields (token ids, checkpoint step, ...) are ignored; a boolean
  `float32` key selects float32 activations when `dtype` is absent.
  """
  try:
    with open(path, encoding='utf-8') as f:
      raw = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise InputError(path, f'cannot read model config: {e}') from e
  names = {f.name for f in dataclasses.fields(T5Config)}
  kwargs = {k: v for k, v in raw.items() if k in names}
  if 'dtype' not in kwargs and 'float32' in raw:
    kwargs['dtype'] = 'float32' if raw['float32'] else 'bfloat16'
  if 'vocab_size' not in kwargs:
    raise InputError(path, 'missing key', field='vocab_size')
  return T5Config(**kwargs)
