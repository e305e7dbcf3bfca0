"""The network config of a model trained elsewhere: a T5X gin file, or a JSON config.

`t5x.train` writes its operative config to `MODEL_DIR/config.gin`; the network is the
`network.T5Config` bindings there (`t5x/examples/t5/network.py`, the Flan-T5 / T5 1.1 layout
our `Transformer` mirrors parameter for parameter). The gin file is read with gin's own parser
(`gin.config_parser`), without importing T5X: macros are resolved, `include`s are followed,
the last binding wins as in gin. Unbound fields take T5X's `T5Config` defaults, not ours.
"""
from __future__ import annotations

import json
import os
from typing import Any, Optional, Sequence

from recsaver_t5x.errors import InputError
from recsaver_t5x.model.config import T5Config, from_fixture_json

# T5X's `network.T5Config` defaults (t5x/examples/t5/network.py): they differ from ours.
T5X_DEFAULTS = dict(dtype='float32', emb_dim=512, num_heads=8, num_encoder_layers=6,
                    num_decoder_layers=6, head_dim=64, mlp_dim=2048, mlp_activations=('relu',),
                    dropout_rate=0.1, logits_via_embedding=False, float32_attention_logits=False)
_FIELDS = ('vocab_size',) + tuple(T5X_DEFAULTS)
# Fields of scalable_t5's T5Config that do not change the parameters or the numerics.
_IGNORED = ('remat_policy', 'scan_layers', 'param_scan_axis')
_REQUIRED = 'gin.REQUIRED'


class _Ref:
  """A `@configurable` (or `@configurable()`) value in a gin file."""

  def __init__(self, name: str):
    self.name = name


class _Macro:
  """A `%MACRO` value in a gin file."""

  def __init__(self, name: str):
    self.name = name


def _delegate():
  from gin import config_parser  # pylint: disable=import-outside-toplevel

  class Delegate(config_parser.ParserDelegate):

    def configurable_reference(self, scoped_configurable_name, evaluate):
      return _Ref(scoped_configurable_name)

    def macro(self, macro_name):
      return _Macro(macro_name)
  return Delegate()


def _find_include(name: str, including: str, search_paths: Sequence[str]) -> Optional[str]:
  if os.path.isabs(name):
    return name if os.path.isfile(name) else None
  for base in (os.path.dirname(including), *search_paths, os.getcwd()):
    cand = os.path.join(base, name)
    if os.path.isfile(cand):
      return cand
  return None


def _statements(path: str, search_paths: Sequence[str], seen: tuple = ()):
  """Yields the binding statements of `path` in gin's order, includes expanded in place."""
  from gin import config_parser  # pylint: disable=import-outside-toplevel
  if os.path.abspath(path) in seen:
    raise InputError(path, 'gin include cycle')
  try:
    with open(path, encoding='utf-8') as f:
      text = f.read()
  except (OSError, UnicodeDecodeError) as e:
    raise InputError(path, f'cannot read gin file: {e}') from e
  try:
    parsed = list(config_parser.ConfigParser(text, _delegate()))
  except SyntaxError as e:
    raise InputError(path, f'gin syntax error: {e.msg}', line=e.lineno) from None
  for st in parsed:
    if isinstance(st, config_parser.IncludeStatement):
      inc = _find_include(st.filename, path, search_paths)
      if inc is None:
        raise InputError(path, f'included gin file {st.filename!r} not found (searched next to '
                         'it, in --gin_search_path and the working directory)',
                         line=st.location.line_num)
      yield from _statements(inc, search_paths, seen + (os.path.abspath(path),))
    elif isinstance(st, config_parser.BindingStatement):
      yield path, st


def _resolve(value: Any, macros: dict, where: tuple, depth: int = 0) -> Any:
  if isinstance(value, _Macro):
    if value.name == _REQUIRED:
      return value
    if value.name not in macros or depth > 50:
      raise InputError(where[0], f'macro %{value.name} is not defined', line=where[1])
    return _resolve(macros[value.name][0], macros, macros[value.name][1], depth + 1)
  if isinstance(value, (list, tuple)):
    return type(value)(_resolve(v, macros, where, depth) for v in value)
  return value


def config_from_t5x_gin(path: str, search_paths: Sequence[str] = ()) -> T5Config:
  """The network of a T5X gin file (e.g. the `config.gin` that `t5x.train` writes).

  Reads the `...T5Config.<field>` bindings (any module path ending in `T5Config`, unscoped);
  fields not bound keep T5X's defaults. dtypes may be strings or `@jnp.bfloat16`-style
  references. Errors name the file and line.
  """
  macros: dict = {}
  bound: dict = {}
  for file, st in _statements(path, search_paths):
    where = (file, st.location.line_num)
    if not st.arg_name and not st.scope:  # a macro definition: NAME = value
      macros[st.selector] = (st.value, where)
    elif st.selector.split('.')[-1] == 'T5Config' and not st.scope:
      if st.arg_name in _IGNORED:
        if st.arg_name == 'scan_layers' and st.value is True:
          raise InputError(file, 'scan_layers = True (stacked layers) is not the parameter '
                           'layout of t5x/examples/t5/network.py', line=where[1])
        continue
      if st.arg_name not in _FIELDS:
        raise InputError(file, f'unknown T5Config field {st.arg_name!r}', line=where[1])
      bound[st.arg_name] = (st.value, where)
  if not bound:
    raise InputError(path, 'no network.T5Config bindings (not a T5X model gin file)')
  kwargs = dict(T5X_DEFAULTS)
  for name, (value, where) in bound.items():
    value = _resolve(value, macros, where)
    if isinstance(value, _Macro):  # %gin.REQUIRED: only the dropout rate may stay unset
      if name != 'dropout_rate':
        raise InputError(where[0], f'T5Config.{name} is %gin.REQUIRED and never set',
                         line=where[1])
      value = 0.0
    if isinstance(value, _Ref):  # e.g. @jnp.bfloat16
      value = value.name.split('.')[-1]
    kwargs[name] = value
  if 'vocab_size' not in kwargs:
    raise InputError(path, 'T5Config.vocab_size is not bound', field='vocab_size')
  kwargs['dtype'] = str(kwargs['dtype'])
  try:
    return T5Config(**kwargs)
  except (TypeError, ValueError) as e:
    raise InputError(path, f'invalid T5Config: {e}') from e


def read_model_config(path: str, search_paths: Sequence[str] = ()) -> T5Config:
  """A model config from a file: a T5X gin file (`.gin`), our `config.json` (a `recsaver
  train` model dir's), a T5X-style fixture JSON, or a Hugging Face T5 `config.json`."""
  if path.endswith('.gin'):
    return config_from_t5x_gin(path, search_paths)
  try:
    with open(path, encoding='utf-8') as f:
      raw = json.load(f)
  except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
    raise InputError(path, f'cannot read model config (a .gin file or JSON): {e}') from e
  if not isinstance(raw, dict):
    raise InputError(path, 'model config is not a JSON object')
  if 'd_model' in raw:  # Hugging Face
    from recsaver_t5x.model.checkpoints import config_from_hf  # pylint: disable=import-outside-toplevel
    return config_from_hf(raw, path)
  return from_fixture_json(path)


def find_model_config(model_dir: str, explicit: Optional[str] = None,
                      search_paths: Sequence[str] = ()) -> T5Config:
  """The config of a model dir: `explicit` if given, else `config.json` (ours), else the
  `config.gin` that `t5x.train` writes; `model_dir` may also be a `checkpoint_<step>` dir,
  whose parent is then searched."""
  if explicit:
    return read_model_config(explicit, search_paths)
  dirs = [model_dir]
  if os.path.basename(os.path.normpath(model_dir)).startswith('checkpoint_'):
    dirs.append(os.path.dirname(os.path.normpath(model_dir)))
  for d in dirs:
    ours = os.path.join(d, 'config.json')
    if os.path.isfile(ours):
      return read_model_config(ours)
    gin_file = os.path.join(d, 'config.gin')
    if os.path.isfile(gin_file):
      return config_from_t5x_gin(gin_file, search_paths)
  raise InputError(model_dir, 'no model config: neither config.json (`recsaver train`) nor '
                   'config.gin (`t5x.train`); pass --model-config FILE (.gin or .json)')
