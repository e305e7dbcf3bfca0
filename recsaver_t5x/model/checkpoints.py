"""Checkpoint import (T5X legacy and orbax formats, Hugging Face Flan-T5) and our own orbax I/O.

All loaders return a plain nested dict of numpy arrays shaped like `Transformer`'s params
(`token_embedder/embedding`, `encoder/layers_0/attention/query/kernel`, ...).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Optional, Tuple

import numpy as np

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.model.config import T5Config

Params = Dict[str, Any]
_STEP_DIR = re.compile(r'^checkpoint_(\d+)$')


# -------------------------------------------------------------------------------------------
# Tree helpers.
# -------------------------------------------------------------------------------------------
def flatten(tree: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
  """{'a': {'b': x}} -> {'a/b': x}."""
  out = {}
  for k, v in tree.items():
    path = f'{prefix}/{k}' if prefix else str(k)
    if isinstance(v, dict) and not _is_ts_spec(v):
      out.update(flatten(v, path))
    else:
      out[path] = v
  return out


def unflatten(flat: Dict[str, Any]) -> Dict[str, Any]:
  tree: Dict[str, Any] = {}
  for path, v in flat.items():
    node = tree
    *parents, leaf = path.split('/')
    for p in parents:
      node = node.setdefault(p, {})
    node[leaf] = v
  return tree


def _is_ts_spec(x: Any) -> bool:
  return isinstance(x, dict) and 'driver' in x and ('kvstore' in x or 'path' in x)


def _latest_step_dir(path: str) -> str:
  """`path` itself if it is a checkpoint, else its `checkpoint_<N>` child with the largest N."""
  if os.path.isfile(os.path.join(path, 'checkpoint')) or _orbax_state_dir(path):
    return path
  steps = []
  if os.path.isdir(path):
    for name in os.listdir(path):
      m = _STEP_DIR.match(name)
      if m and os.path.isdir(os.path.join(path, name)):
        steps.append((int(m.group(1)), name))
  if not steps:
    raise InputError(path, 'not a T5X checkpoint directory (no msgpack `checkpoint` file, no '
                     'orbax `_METADATA`, no checkpoint_<step> subdirectory)')
  return os.path.join(path, max(steps)[1])


def _orbax_state_dir(path: str) -> Optional[str]:
  for cand in (os.path.join(path, 'state'), path):
    if os.path.isfile(os.path.join(cand, '_METADATA')):
      return cand
  return None


def _cast(params: Params, dtype: Optional[Any]) -> Params:
  if dtype is None:
    return params
  return {k: _cast(v, dtype) if isinstance(v, dict) else np.asarray(v).astype(dtype)
          for k, v in params.items()}


# -------------------------------------------------------------------------------------------
# T5X checkpoints.
# -------------------------------------------------------------------------------------------
def load_t5x_checkpoint(path: str, dtype: Optional[Any] = None) -> Params:
  """Loads the model parameters (`target/...`) of a T5X checkpoint, legacy or orbax.

  `path` is a `checkpoint_<step>` directory, or a model directory whose latest
  `checkpoint_<step>` is used. The optimizer state is not read. `dtype` (e.g. np.float32)
  casts every array; by default arrays keep their stored dtype.
  """
  ckpt_dir = _latest_step_dir(os.path.abspath(path))
  if os.path.isfile(os.path.join(ckpt_dir, 'checkpoint')):
    params = _load_legacy(ckpt_dir)
  else:
    params = _load_orbax(_orbax_state_dir(ckpt_dir), ckpt_dir)
  return _cast(params, dtype)


def _resolve_legacy_path(spec: Dict[str, Any], ckpt_dir: str) -> str:
  """Absolute local path of a tensorstore array, as T5X resolves it (bucket ignored)."""
  kvstore = spec.get('kvstore')
  rel = None
  if isinstance(kvstore, dict):
    rel = kvstore.get('path')
  elif isinstance(kvstore, str):
    rel = kvstore
  if rel is None:
    rel = spec.get('path')
  if not rel:
    raise InputError(ckpt_dir, f'tensorstore spec without a path: {spec}')
  rel = re.sub(r'^(gs|file)://', '', rel)
  if isinstance(kvstore, dict) and kvstore.get('bucket') and rel.startswith(kvstore['bucket'] + '/'):
    rel = rel[len(kvstore['bucket']) + 1:]
  candidate = os.path.join(ckpt_dir, rel)
  if os.path.exists(candidate):
    return candidate
  # Absolute or bucket-relative paths from the machine that wrote the checkpoint: keep only the
  # array directory's own name, which T5X derives from the parameter path.
  name = [p for p in rel.split('/') if p][-1]
  candidate = os.path.join(ckpt_dir, name)
  if os.path.exists(candidate):
    return candidate
  raise InputError(ckpt_dir, f'array data not found for tensorstore path {rel!r}')


def _read_tensorstore(specs: Dict[str, Dict[str, Any]]) -> Dict[str, np.ndarray]:
  import tensorstore as ts  # pylint: disable=import-outside-toplevel
  opened = {k: ts.open(spec, open=True, read=True) for k, spec in specs.items()}
  reads = {k: f.result().read() for k, f in opened.items()}
  return {k: np.asarray(f.result()) for k, f in reads.items()}


def _load_legacy(ckpt_dir: str) -> Params:
  from flax import serialization  # pylint: disable=import-outside-toplevel
  path = os.path.join(ckpt_dir, 'checkpoint')
  with open(path, 'rb') as f:
    try:
      root = serialization.msgpack_restore(f.read())
    except Exception as e:  # msgpack raises several unrelated types
      raise InputError(path, f'not a T5X msgpack checkpoint: {e}') from e
  tree = root.get('optimizer', root)
  if 'target' not in tree:
    raise InputError(path, 'no `target` (model parameters) in the checkpoint')
  flat = flatten(tree['target'])
  specs, arrays = {}, {}
  for key, leaf in flat.items():
    if _is_ts_spec(leaf):
      driver = leaf.get('driver', 'zarr')
      specs[key] = {'driver': driver,
                    'kvstore': {'driver': 'file', 'path': _resolve_legacy_path(leaf, ckpt_dir)}}
    else:
      arrays[key] = np.asarray(leaf)
  arrays.update(_read_tensorstore(specs))
  return unflatten(arrays)


def _load_orbax(state_dir: str, ckpt_dir: str) -> Params:
  meta_path = os.path.join(state_dir, '_METADATA')
  with open(meta_path, encoding='utf-8') as f:
    meta = json.load(f)
  tree_meta = meta.get('tree_metadata')
  if not isinstance(tree_meta, dict):
    raise InputError(meta_path, 'unrecognised orbax metadata (no tree_metadata)')
  driver = 'zarr3' if meta.get('use_zarr3') else 'zarr'
  ocdbt = os.path.exists(os.path.join(state_dir, 'manifest.ocdbt'))
  specs, inline = {}, {}
  for entry in tree_meta.values():
    keys = [str(k['key']) for k in entry['key_metadata']]
    if not keys or keys[0] != 'target':
      continue
    value_type = entry.get('value_metadata', {}).get('value_type', '')
    name = '.'.join(keys)
    if value_type in ('jax.Array', 'np.ndarray'):
      if ocdbt:
        kvstore = {'driver': 'ocdbt', 'base': f'file://{state_dir}', 'path': name}
      else:
        kvstore = {'driver': 'file', 'path': os.path.join(state_dir, name)}
      specs['/'.join(keys[1:])] = {'driver': driver, 'kvstore': kvstore}
    else:
      inline['/'.join(keys[1:])] = None
  if inline:
    # Scalars and other non-array leaves are only readable through orbax itself.
    return _load_orbax_with_orbax(state_dir)
  if not specs:
    raise InputError(ckpt_dir, 'no `target` parameters in the orbax checkpoint')
  return unflatten(_read_tensorstore(specs))


def _load_orbax_with_orbax(state_dir: str) -> Params:
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  restored = ocp.PyTreeCheckpointer().restore(state_dir)
  return {k: v for k, v in _to_numpy(restored['target']).items()}


def _to_numpy(tree: Any) -> Any:
  if isinstance(tree, dict):
    return {k: _to_numpy(v) for k, v in tree.items()}
  return np.asarray(tree)


# -------------------------------------------------------------------------------------------
# Hugging Face Flan-T5 directories.
# -------------------------------------------------------------------------------------------
_HF_ACTIVATIONS = {'gelu_new': 'gelu', 'gelu_pytorch_tanh': 'gelu', 'gelu_fast': 'gelu',
                   'gelu': 'gelu_exact', 'relu': 'relu', 'silu': 'silu', 'swish': 'silu'}


def config_from_hf(hf: Dict[str, Any], path: str = 'config.json', dtype: str = 'float32') -> T5Config:
  """T5Config from a Hugging Face T5 `config.json` dict."""
  proj = hf.get('feed_forward_proj', 'relu')
  gated = proj.startswith('gated-')
  act_name = hf.get('dense_act_fn') or (proj[len('gated-'):] if gated else proj)
  if gated and act_name == 'gelu' and 'dense_act_fn' not in hf:
    act_name = 'gelu_new'  # HF maps 'gated-gelu' to the tanh approximation
  if act_name not in _HF_ACTIVATIONS:
    raise InputError(path, f'unsupported activation {act_name!r}', field='feed_forward_proj')
  act = _HF_ACTIVATIONS[act_name]
  try:
    return T5Config(
        vocab_size=int(hf['vocab_size']), emb_dim=int(hf['d_model']),
        num_heads=int(hf['num_heads']), head_dim=int(hf['d_kv']), mlp_dim=int(hf['d_ff']),
        num_encoder_layers=int(hf['num_layers']),
        num_decoder_layers=int(hf.get('num_decoder_layers') or hf['num_layers']),
        dropout_rate=float(hf.get('dropout_rate', 0.1)), dtype=dtype,
        relative_attention_num_buckets=int(hf.get('relative_attention_num_buckets', 32)),
        relative_attention_max_distance=int(hf.get('relative_attention_max_distance', 128)),
        layer_norm_epsilon=float(hf.get('layer_norm_epsilon', 1e-6)),
        mlp_activations=(act, 'linear') if gated else (act,),
        logits_via_embedding=bool(hf.get('tie_word_embeddings', True)))
  except KeyError as e:
    raise InputError(path, 'missing key', field=str(e.args[0])) from e


def hf_config_dict(config: T5Config) -> Dict[str, Any]:
  """The Hugging Face `T5Config` kwargs equivalent to `config`."""
  gated = len(config.mlp_activations) == 2
  inverse = {'gelu': 'gelu_new', 'gelu_exact': 'gelu', 'relu': 'relu', 'silu': 'silu'}
  act = inverse[config.mlp_activations[0]]
  return dict(
      vocab_size=config.vocab_size, d_model=config.emb_dim, d_kv=config.head_dim,
      d_ff=config.mlp_dim, num_layers=config.num_encoder_layers,
      num_decoder_layers=config.num_decoder_layers, num_heads=config.num_heads,
      relative_attention_num_buckets=config.relative_attention_num_buckets,
      relative_attention_max_distance=config.relative_attention_max_distance,
      dropout_rate=config.dropout_rate, layer_norm_epsilon=config.layer_norm_epsilon,
      feed_forward_proj=('gated-' if gated else '') + act, dense_act_fn=act,
      is_gated_act=gated, tie_word_embeddings=config.logits_via_embedding,
      scale_decoder_outputs=config.logits_via_embedding,
      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, is_encoder_decoder=True)


def _read_hf_tensors(model_dir: str) -> Dict[str, np.ndarray]:
  """All tensors of a HF model dir (single or sharded safetensors / pytorch_model.bin)."""
  def shard_files(index_name: str, single: str):
    index = os.path.join(model_dir, index_name)
    if os.path.isfile(index):
      with open(index, encoding='utf-8') as f:
        return sorted(set(json.load(f)['weight_map'].values()))
    return [single] if os.path.isfile(os.path.join(model_dir, single)) else []

  out: Dict[str, np.ndarray] = {}
  files = shard_files('model.safetensors.index.json', 'model.safetensors')
  if files:
    for name in files:
      out.update(_read_safetensors(os.path.join(model_dir, name)))
    return out
  files = shard_files('pytorch_model.bin.index.json', 'pytorch_model.bin')
  if not files:
    raise InputError(model_dir, 'no model.safetensors or pytorch_model.bin found')
  import torch  # pylint: disable=import-outside-toplevel
  for name in files:
    state = torch.load(os.path.join(model_dir, name), map_location='cpu', weights_only=True)
    out.update({k: v.float().numpy() if v.is_floating_point() else v.numpy()
                for k, v in state.items()})
  return out


def _read_safetensors(path: str) -> Dict[str, np.ndarray]:
  from safetensors import safe_open  # pylint: disable=import-outside-toplevel
  out = {}
  try:
    with safe_open(path, framework='np') as f:
      for k in f.keys():
        out[k] = f.get_tensor(k)
  except (TypeError, ValueError):
    # numpy has no bfloat16: read through torch instead.
    import torch  # pylint: disable=import-outside-toplevel
    with safe_open(path, framework='pt') as f:
      for k in f.keys():
        t = f.get_tensor(k)
        out[k] = t.float().numpy() if t.is_floating_point() else t.numpy()
  return out


def _hf_layout(config: T5Config):
  """Yields (our path, HF name, transpose?) for every parameter."""
  mlp_names = ['wi'] if len(config.mlp_activations) == 1 else [
      f'wi_{i}' for i in range(len(config.mlp_activations))]

  def attention(ours: str, hf: str):
    for proj, hf_proj in (('query', 'q'), ('key', 'k'), ('value', 'v'), ('out', 'o')):
      yield f'{ours}/{proj}/kernel', f'{hf}.{hf_proj}.weight', True

  def mlp(ours: str, hf: str):
    for name in mlp_names + ['wo']:
      yield f'{ours}/mlp/{name}/kernel', f'{hf}.DenseReluDense.{name}.weight', True

  yield 'token_embedder/embedding', 'shared.weight', False
  yield ('encoder/relpos_bias/rel_embedding',
         'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', True)
  for i in range(config.num_encoder_layers):
    o, h = f'encoder/layers_{i}', f'encoder.block.{i}'
    yield f'{o}/pre_attention_layer_norm/scale', f'{h}.layer.0.layer_norm.weight', False
    yield from attention(f'{o}/attention', f'{h}.layer.0.SelfAttention')
    yield f'{o}/pre_mlp_layer_norm/scale', f'{h}.layer.1.layer_norm.weight', False
    yield from mlp(o, f'{h}.layer.1')
  yield 'encoder/encoder_norm/scale', 'encoder.final_layer_norm.weight', False
  yield ('decoder/relpos_bias/rel_embedding',
         'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight', True)
  for i in range(config.num_decoder_layers):
    o, h = f'decoder/layers_{i}', f'decoder.block.{i}'
    yield f'{o}/pre_self_attention_layer_norm/scale', f'{h}.layer.0.layer_norm.weight', False
    yield from attention(f'{o}/self_attention', f'{h}.layer.0.SelfAttention')
    yield f'{o}/pre_cross_attention_layer_norm/scale', f'{h}.layer.1.layer_norm.weight', False
    yield from attention(f'{o}/encoder_decoder_attention', f'{h}.layer.1.EncDecAttention')
    yield f'{o}/pre_mlp_layer_norm/scale', f'{h}.layer.2.layer_norm.weight', False
    yield from mlp(o, f'{h}.layer.2')
  yield 'decoder/decoder_norm/scale', 'decoder.final_layer_norm.weight', False
  if not config.logits_via_embedding:
    yield 'decoder/logits_dense/kernel', 'lm_head.weight', True


def _hf_head(hf: Dict[str, Any], tensors: Dict[str, np.ndarray]) -> Tuple[np.ndarray, bool]:
  """(output head [vocab, d_model], rescale?) of a HF T5 state dict and its `config.json`.

  Every layout transformers 4 and 5 write:
  * v4, `tie_word_embeddings: true` (T5 v1.0): no `lm_head.weight`; the head is the embedding,
    applied after the d_model**-0.5 rescale.
  * v4, `tie_word_embeddings: false` (T5 v1.1, Flan-T5): a separate `lm_head.weight`, no rescale.
  * v5 always writes `tie_word_embeddings: true` and says `scale_decoder_outputs` explicitly;
    `lm_head.weight` is written only when it differs from the embedding, so a missing head
    means "the embedding", with or without the rescale.
  """
  shared = tensors['shared.weight']
  head = tensors.get('lm_head.weight', shared)
  # transformers 5 reads a missing `scale_decoder_outputs` as `tie_word_embeddings is not False`.
  rescale = hf.get('scale_decoder_outputs')
  if rescale is None:
    rescale = hf.get('tie_word_embeddings', True) is not False
  return head, bool(rescale)


def load_hf_checkpoint(model_dir: str, dtype: str = 'float32') -> Tuple[T5Config, Params]:
  """Reads a Hugging Face (Flan-)T5 directory into (T5Config, params).

  The output head is `lm_head.weight` when the file has one, else the embedding (see
  `_hf_head` for every layout transformers 4 and 5 write). Only a head equal to the embedding
  with the 1/sqrt(d_model) rescale becomes `logits_via_embedding`; any other combination
  becomes a separate `logits_dense` kernel with the rescale folded in.
  """
  cfg_path = os.path.join(model_dir, 'config.json')
  try:
    with open(cfg_path, encoding='utf-8') as f:
      hf = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise InputError(cfg_path, f'cannot read Hugging Face config: {e}') from e
  if not isinstance(hf, dict):
    raise InputError(cfg_path, 'Hugging Face config is not a JSON object')
  tensors = _read_hf_tensors(model_dir)
  config = config_from_hf(hf, cfg_path, dtype=dtype)
  if 'shared.weight' not in tensors:
    for alias in ('encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'):
      if alias in tensors:
        tensors['shared.weight'] = tensors[alias]
        break
    else:
      raise InputError(model_dir, "missing tensor 'shared.weight'")
  head, rescale = _hf_head(hf, tensors)
  shared = tensors['shared.weight']
  if head.shape != shared.shape:
    raise InputError(model_dir, f"'lm_head.weight' has shape {tuple(head.shape)}, the "
                     f'embedding {tuple(shared.shape)}')
  tied = rescale and np.array_equal(head, shared)
  config = config.replace(logits_via_embedding=tied)
  flat = {}
  for ours, name, transpose in _hf_layout(config):
    if name == 'lm_head.weight':
      continue  # the head is resolved above
    if name not in tensors:
      raise InputError(model_dir, f'missing tensor {name!r}')
    arr = np.asarray(tensors[name], dtype=np.float32)
    flat[ours] = np.ascontiguousarray(arr.T if transpose else arr)
  if not tied:
    kernel = np.asarray(head, dtype=np.float32).T
    if rescale:  # fold the rescale into the separate head
      kernel = kernel * np.float32(config.emb_dim ** -0.5)
    flat['decoder/logits_dense/kernel'] = np.ascontiguousarray(kernel)
  return config, unflatten(flat)


def to_hf_state_dict(params: Params, config: T5Config) -> Dict[str, np.ndarray]:
  """Our params as a HF `T5ForConditionalGeneration` state dict (numpy, untied lm_head)."""
  flat = flatten(params)
  out = {}
  for ours, name, transpose in _hf_layout(config):
    arr = np.asarray(flat[ours], dtype=np.float32)
    out[name] = np.ascontiguousarray(arr.T if transpose else arr)
  out['encoder.embed_tokens.weight'] = out['shared.weight']
  out['decoder.embed_tokens.weight'] = out['shared.weight']
  return out


def to_hf_model(params: Params, config: T5Config):
  """A transformers `T5ForConditionalGeneration` (torch, float32, eval mode) with our weights.

  transformers 5 ties `lm_head` to `shared` whatever the config says, so the head is untied
  here by hand.
  """
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  model = transformers.T5ForConditionalGeneration(
      transformers.T5Config(**hf_config_dict(config)))
  state = {k: torch.from_numpy(np.array(v)) for k, v in to_hf_state_dict(params, config).items()}
  head = state.pop('lm_head.weight', None)
  missing, unexpected = model.load_state_dict(state, strict=False)
  missing = [k for k in missing if k != 'lm_head.weight']
  if missing or unexpected:
    raise ValueError(f'state dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}')
  if head is not None:
    model.lm_head.weight = torch.nn.Parameter(head.clone())
    model.config.tie_word_embeddings = False
  return model.eval()


# -------------------------------------------------------------------------------------------
# Our own checkpoints (orbax, T5X directory layout: <dir>/checkpoint_<step>/state).
# -------------------------------------------------------------------------------------------
def make_checkpoint_manager(directory: str, max_to_keep: Optional[int] = None,
                            async_save: bool = True):
  """An orbax CheckpointManager writing T5X-style `checkpoint_<step>/state` directories."""
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, step_prefix='checkpoint',
                                         enable_async_checkpointing=async_save, create=True)
  return ocp.CheckpointManager(os.path.abspath(directory), options=options,
                               item_names=('state',))


def save_checkpoint(directory: str, params: Params, step: int, config: Optional[T5Config] = None,
                    manager: Any = None, wait: bool = True) -> Any:
  """Saves params (sharded jax arrays or numpy) as `<directory>/checkpoint_<step>/state`.

  The tree is `{'target': params, 'state': {'step': step}}`, as T5X lays it out, so
  `load_t5x_checkpoint` reads it too. With `wait=False` the save finishes in the background:
  call `manager.wait_until_finished()` on the returned manager.
  """
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  manager = manager or make_checkpoint_manager(directory, async_save=not wait)
  if config is not None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'config.json'), 'w', encoding='utf-8') as f:
      json.dump(config.to_dict(), f, indent=2)
  state = {'target': params, 'state': {'step': np.asarray(step, np.int32)}}
  manager.save(int(step), args=ocp.args.Composite(state=ocp.args.PyTreeSave(state)))
  if wait:
    manager.wait_until_finished()
  return manager


def latest_step(directory: str) -> Optional[int]:
  steps = [int(m.group(1)) for m in map(_STEP_DIR.match, os.listdir(directory)) if m] \
      if os.path.isdir(directory) else []
  return max(steps) if steps else None


def restore_checkpoint(directory: str, step: Optional[int] = None,
                       shardings: Any = None) -> Params:
  """Restores params saved by `save_checkpoint` (latest step by default).

  With `shardings` (a NamedSharding tree, see `partitioning.param_shardings`) each device reads
  only its shards through orbax; without, host numpy arrays are returned.
  """
  step = latest_step(directory) if step is None else step
  if step is None:
    raise UserFacingError(f'no checkpoint_<step> directory in {directory}')
  ckpt_dir = os.path.join(directory, f'checkpoint_{step}')
  if shardings is None:
    return load_t5x_checkpoint(ckpt_dir)
  import jax  # pylint: disable=import-outside-toplevel
  import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
  meta = load_t5x_checkpoint_metadata(ckpt_dir)
  flat_sh = flatten(shardings)
  abstract = unflatten({k: jax.ShapeDtypeStruct(shape, dtype, sharding=flat_sh[k])
                        for k, (shape, dtype) in meta.items()})
  target = {'target': abstract, 'state': {'step': jax.ShapeDtypeStruct((), np.int32)}}
  restore_args = ocp.checkpoint_utils.construct_restore_args(target)
  restored = ocp.PyTreeCheckpointer().restore(
      os.path.join(ckpt_dir, 'state'),
      args=ocp.args.PyTreeRestore(item=target, restore_args=restore_args))
  return restored['target']


def load_t5x_checkpoint_metadata(path: str) -> Dict[str, Tuple[tuple, Any]]:
  """{param path: (shape, dtype)} of an orbax checkpoint's `target` without reading data."""
  import tensorstore as ts  # pylint: disable=import-outside-toplevel
  ckpt_dir = _latest_step_dir(os.path.abspath(path))
  state_dir = _orbax_state_dir(ckpt_dir)
  if state_dir is None:
    raise InputError(ckpt_dir, 'not an orbax checkpoint')
  with open(os.path.join(state_dir, '_METADATA'), encoding='utf-8') as f:
    meta = json.load(f)
  driver = 'zarr3' if meta.get('use_zarr3') else 'zarr'
  ocdbt = os.path.exists(os.path.join(state_dir, 'manifest.ocdbt'))
  out, pending = {}, {}
  for entry in meta['tree_metadata'].values():
    keys = [str(k['key']) for k in entry['key_metadata']]
    if keys[0] != 'target':
      continue
    name = '.'.join(keys)
    kvstore = ({'driver': 'ocdbt', 'base': f'file://{state_dir}', 'path': name} if ocdbt
               else {'driver': 'file', 'path': os.path.join(state_dir, name)})
    pending['/'.join(keys[1:])] = ts.open({'driver': driver, 'kvstore': kvstore}, open=True)
  for k, fut in pending.items():
    store = fut.result()
    out[k] = (tuple(store.shape), np.dtype(store.dtype.numpy_dtype))
  return out


def tree_max_abs_diff(a: Params, b: Params) -> float:
  """Largest absolute difference between two parameter trees with the same paths."""
  fa, fb = flatten(a), flatten(b)
  if set(fa) != set(fb):
    raise ValueError(f'trees differ in paths: {sorted(set(fa) ^ set(fb))[:5]}')
  return max(float(np.max(np.abs(np.asarray(fa[k], np.float32) - np.asarray(fb[k], np.float32))))
             for k in fa)
