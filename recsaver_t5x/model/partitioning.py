"""Logical-axis sharding on a ('data', 'model') device mesh, as T5X's PjitPartitioner does.

Parameters and activations of `network.Transformer` carry logical axis names ('batch',
'embed', 'mlp', 'heads', 'joined_kv', 'vocab', ...). A rule table maps each name to a mesh
axis or to None (replicated). With one device every sharding is trivial, so the same code
runs unchanged on a laptop and on a mesh.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model.config import T5Config

LogicalRules = Sequence[Tuple[str, Optional[Any]]]
MESH_AXES = ('data', 'model')


def standard_logical_axis_rules(activation_partitioning_dims: int = 1,
                                parameter_partitioning_dims: int = 1,
                                additional_rules: Optional[LogicalRules] = None) -> LogicalRules:
  """T5X's default rules from logical axis names to the ('data', 'model') mesh axes."""
  common = [('batch', 'data'), ('vocab', 'model'), ('mlp', 'model'), ('heads', 'model'),
            ('kv', None), ('joined_kv', 'model')]
  dims = (activation_partitioning_dims, parameter_partitioning_dims)
  if dims == (1, 1):
    rules = common[:2] + [('embed', None)] + common[2:]
  elif dims == (2, 1):
    rules = common + [('embed', 'model')]
  elif dims == (1, 2):
    rules = common + [('embed', 'data')]
  elif dims == (2, 2):
    rules = common + [('embed', 'model'), ('embed', 'data')]
  else:
    raise UserFacingError(f'unsupported partitioning dims (activation, parameter) = {dims}')
  rules += [('relpos_buckets', None), ('abspos_buckets', None), ('length', None),
            ('layers', None), ('stack', None), ('mlp_activations', None)]
  if additional_rules:
    rules += list(additional_rules)
  return tuple(rules)


def make_mesh(num_partitions: int = 1, devices: Optional[Sequence[Any]] = None) -> Mesh:
  """A ('data', 'model') mesh: `num_partitions` devices per model replica, the rest data."""
  devices = list(jax.devices() if devices is None else devices)
  if num_partitions < 1 or len(devices) % num_partitions:
    raise UserFacingError(f'num_partitions={num_partitions} must divide the {len(devices)} '
                          'available devices')
  grid = np.array(devices, dtype=object).reshape(len(devices) // num_partitions, num_partitions)
  return Mesh(grid, MESH_AXES)


@contextlib.contextmanager
def mesh_context(mesh: Mesh, rules: Optional[LogicalRules] = None) -> Iterator[None]:
  """Activates `mesh` and the logical rules so that `with_logical_constraint` takes effect.

  Trace (jit) the model inside this context; outside it the constraints are no-ops.
  """
  rules = standard_logical_axis_rules() if rules is None else rules
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    yield


def logical_param_axes(config: T5Config) -> Any:
  """PartitionSpec tree of *logical* names for the parameters of `Transformer(config)`."""
  from recsaver_t5x.model.network import Transformer  # pylint: disable=import-outside-toplevel
  model = Transformer(config)
  tokens = jnp.ones((1, 1), jnp.int32)
  abstract = jax.eval_shape(
      lambda: model.init({'params': jax.random.PRNGKey(0)}, tokens, tokens, tokens,
                         enable_dropout=False))
  return nn.get_partition_spec(abstract['params'])


def param_shardings(config: T5Config, mesh: Mesh,
                    rules: Optional[LogicalRules] = None) -> Any:
  """NamedSharding tree matching the (unboxed) parameter tree of `Transformer(config)`."""
  rules = standard_logical_axis_rules() if rules is None else rules
  return nn.logical_to_mesh_sharding(logical_param_axes(config), mesh, rules)


def batch_sharding(mesh: Mesh, ndim: int = 2) -> NamedSharding:
  """Sharding of a [batch, length, ...] array: batch over 'data', the rest replicated."""
  return NamedSharding(mesh, PartitionSpec('data', *([None] * (ndim - 1))))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def shard_params(params: Any, shardings: Any) -> Any:
  """Places a host (numpy/jax) parameter tree onto devices with the given shardings."""
  return jax.tree.map(jax.device_put, params, shardings)


def shard_batch(batch: Any, mesh: Mesh) -> Any:
  """Places every array of a batch dict with its leading axis over 'data'."""
  return jax.tree.map(lambda x: jax.device_put(x, batch_sharding(mesh, np.ndim(x))), batch)
