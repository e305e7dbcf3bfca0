"""A model directory of any origin -> (T5Config, params, step).

`recsaver train` MODEL_DIRs (config.json + orbax checkpoint_<step>), `t5x.train` MODEL_DIRs
(config.gin + legacy or orbax checkpoint_<step>), or one checkpoint_<step> directory; the
network may also come from an explicit config file (`t5x_config.read_model_config`).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import jax
import numpy as np

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import checkpoints, t5x_config
from recsaver_t5x.model.config import T5Config
from recsaver_t5x.model.network import init_params


def load_model_dir(model_dir: str, step: Optional[int] = None,
                   model_config: Optional[str] = None, gin_search_paths: Sequence[str] = ()) -> tuple[T5Config, Any, int]:
  """(config, params, step) of a model directory.

  `model_dir`: a `recsaver train` MODEL_DIR, a `t5x.train` MODEL_DIR (legacy or orbax
  checkpoints; its `config.gin` gives the network), or one `checkpoint_<step>` directory.
  `model_config` (a .gin or .json file, see `t5x_config.read_model_config`) overrides the
  config found in the directory.
  """
  config = t5x_config.find_model_config(model_dir, model_config, gin_search_paths)
  name = os.path.basename(os.path.normpath(model_dir))
  if name.startswith("checkpoint_") and name[len("checkpoint_"):].isdigit():
    ckpt_dir, step = model_dir, int(name[len("checkpoint_"):])
  else:
    step = checkpoints.latest_step(model_dir) if step is None else step
    if step is None:
      raise UserFacingError(f"{model_dir}: no checkpoint_<step> directory")
    ckpt_dir = os.path.join(model_dir, f"checkpoint_{step}")
    if not os.path.isdir(ckpt_dir):
      raise UserFacingError(f"{model_dir}: no checkpoint_{step} directory")
  params = checkpoints.load_t5x_checkpoint(ckpt_dir)
  _check_params(params, config, ckpt_dir)
  return config, params, step


def _check_params(params: Any, config: T5Config, where: str) -> None:
  """The checkpoint's parameter tree must be the one `config` builds (one-line error)."""
  want = jax.eval_shape(lambda: init_params(config, jax.random.PRNGKey(0)))
  got_flat, want_flat = checkpoints.flatten(params), checkpoints.flatten(want)
  if set(got_flat) != set(want_flat):
    missing = sorted(set(want_flat) - set(got_flat))
    extra = sorted(set(got_flat) - set(want_flat))
    raise UserFacingError(f"{where}: checkpoint parameters do not match the model config "
                          f"(missing {missing[:3]}, unexpected {extra[:3]})")
  for k, w in want_flat.items():
    if tuple(np.shape(got_flat[k])) != tuple(w.shape):
      raise UserFacingError(f"{where}: parameter {k} has shape {tuple(np.shape(got_flat[k]))}, "
                            f"the model config wants {tuple(w.shape)} (wrong model config?)")
