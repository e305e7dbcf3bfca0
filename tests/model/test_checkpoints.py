"""Checkpoint I/O: our orbax round trip, T5X legacy path resolution variants, errors."""
import json
import os
import shutil

import jax
import numpy as np
import pytest

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.model import checkpoints, partitioning

from .conftest import small_config


def test_orbax_round_trip(tmp_path, small_params):
  params = jax.device_get(small_params)
  checkpoints.save_checkpoint(str(tmp_path), params, step=3, config=small_config())
  bumped = jax.tree.map(lambda x: x + 1.0, params)
  checkpoints.save_checkpoint(str(tmp_path), bumped, step=10)
  assert sorted(os.listdir(tmp_path)) == ['checkpoint_10', 'checkpoint_3', 'config.json']
  assert checkpoints.latest_step(str(tmp_path)) == 10
  assert checkpoints.tree_max_abs_diff(checkpoints.restore_checkpoint(str(tmp_path)), bumped) == 0
  restored = checkpoints.restore_checkpoint(str(tmp_path), step=3)
  assert checkpoints.tree_max_abs_diff(restored, params) == 0
  # Same layout as T5X's orbax checkpoints, so the T5X loader reads ours too.
  assert checkpoints.tree_max_abs_diff(checkpoints.load_t5x_checkpoint(str(tmp_path)), bumped) == 0
  config = json.loads((tmp_path / 'config.json').read_text())
  assert config['emb_dim'] == small_config().emb_dim


def test_orbax_restore_onto_shardings_and_async_save(tmp_path, small_params):
  mesh = partitioning.make_mesh(1)
  shardings = partitioning.param_shardings(small_config(), mesh)
  sharded = partitioning.shard_params(small_params, shardings)
  manager = checkpoints.save_checkpoint(str(tmp_path), sharded, step=1, wait=False)
  manager.wait_until_finished()
  restored = checkpoints.restore_checkpoint(str(tmp_path), shardings=shardings)
  leaf = restored['encoder']['layers_0']['mlp']['wi_0']['kernel']
  assert isinstance(leaf, jax.Array) and leaf.sharding == shardings['encoder']['layers_0'][
      'mlp']['wi_0']['kernel']
  assert checkpoints.tree_max_abs_diff(jax.device_get(restored),
                                       jax.device_get(small_params)) == 0


def _rewrite_legacy(src, dst, rewrite):
  """Copies a legacy checkpoint, applying `rewrite(spec, rel_path)` to each tensorstore spec."""
  from flax import serialization
  shutil.copytree(src, dst)
  path = os.path.join(dst, 'checkpoint')
  with open(path, 'rb') as f:
    tree = serialization.msgpack_restore(f.read())

  def walk(node):
    for k, v in node.items():
      if isinstance(v, dict) and 'driver' in v:
        node[k] = rewrite(v, v['kvstore']['path'])
      elif isinstance(v, dict):
        walk(v)
  walk(tree)
  with open(path, 'wb') as f:
    f.write(serialization.msgpack_serialize(tree))


@pytest.mark.parametrize('variant', ['gcs_kvstore_path', 'gcs_top_level_path',
                                     'absolute_foreign_path', 'gs_url'])
def test_legacy_path_variants(tmp_path, t5x_dir, fixture_params, variant):
  def rewrite(spec, rel):
    spec = dict(spec)
    if variant == 'gcs_kvstore_path':
      spec['kvstore'] = {'driver': 'gcs', 'bucket': 't5x-dummy-bucket', 'path': rel}
    elif variant == 'gcs_top_level_path':
      spec['kvstore'] = {'driver': 'gcs', 'bucket': 't5x-dummy-bucket'}
      spec['path'] = rel
    elif variant == 'absolute_foreign_path':
      spec['kvstore'] = {'driver': 'file', 'path': '/nonexistent/run/checkpoint_40/' + rel}
    else:
      spec['kvstore'] = {'driver': 'gcs', 'bucket': 'b',
                         'path': 'gs://b/models/run/checkpoint_40/' + rel}
    return spec
  dst = tmp_path / 'checkpoint_40'
  _rewrite_legacy(t5x_dir / 'legacy' / 'checkpoint_40', dst, rewrite)
  # Also through the model directory (latest checkpoint_<step> is picked).
  for path in (dst, tmp_path):
    loaded = checkpoints.load_t5x_checkpoint(str(path))
    assert checkpoints.tree_max_abs_diff(loaded, fixture_params) == 0


def test_load_errors(tmp_path):
  with pytest.raises(InputError):
    checkpoints.load_t5x_checkpoint(str(tmp_path))
  (tmp_path / 'checkpoint_5').mkdir()
  (tmp_path / 'checkpoint_5' / 'checkpoint').write_bytes(b'not msgpack at all')
  with pytest.raises(InputError):
    checkpoints.load_t5x_checkpoint(str(tmp_path))
  with pytest.raises(UserFacingError):
    checkpoints.restore_checkpoint(str(tmp_path / 'empty'))
  with pytest.raises(InputError):
    checkpoints.load_hf_checkpoint(str(tmp_path))


def test_load_with_dtype(t5x_dir):
  import ml_dtypes
  params = checkpoints.load_t5x_checkpoint(str(t5x_dir / 'orbax'), dtype=ml_dtypes.bfloat16)
  leaves = list(checkpoints.flatten(params).values())
  assert len(leaves) == 52 and all(x.dtype == ml_dtypes.bfloat16 for x in leaves)
