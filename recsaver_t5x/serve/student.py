"""A trained student ready to serve: config, parameters, vocabulary and a name.

One function, `load_student`, hides the three checkpoint kinds behind the loaders of
`recsaver_t5x.model.checkpoints` (and the trainer's model-dir reader), so a change of checkpoint
format touches only this module:

- a `recsaver train` model dir (`config.json` + `checkpoint_<step>/`),
- a Hugging Face (Flan-)T5 directory (`config.json` + safetensors / bin weights),
- a T5X checkpoint (legacy or orbax `checkpoint_<step>`, or its model dir) with the model config
  given separately (a T5X-style config JSON or a size name such as `small`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Optional

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model.config import T5Config

_HF_WEIGHTS = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")
_SPM_NAMES = ("spiece.model", "spm.model", "sentencepiece.model")


@dataclasses.dataclass(frozen=True)
class Student:
  """What the server needs from a checkpoint."""

  name: str
  kind: str            # "recsaver", "hf" or "t5x"
  config: T5Config
  params: Any
  vocab: Any           # seqio.SentencePieceVocabulary
  step: Optional[int]
  source: str


def checkpoint_kind(path: str) -> str:
  """"recsaver", "hf" or "t5x" for a directory (error if it is none of them)."""
  if not os.path.isdir(path):
    raise UserFacingError(f"{path}: not a directory (expected a model dir or checkpoint)")
  files = os.listdir(path)
  has_config = "config.json" in files
  if has_config and any(f.endswith(_HF_WEIGHTS) for f in files):
    return "hf"
  if has_config and any(re.fullmatch(r"checkpoint_\d+", f) for f in files):
    return "recsaver"
  if "checkpoint" in files or "state" in files or any(
      re.fullmatch(r"checkpoint_\d+", f) for f in files):
    return "t5x"
  raise UserFacingError(f"{path}: neither a `recsaver train` model dir, a Hugging Face T5 "
                        "directory nor a T5X checkpoint")


def _vocab_from_gin(model_dir: str) -> Optional[str]:
  """The vocabulary of the tasks config that `recsaver train` recorded in config.gin."""
  gin = os.path.join(model_dir, "config.gin")
  if not os.path.isfile(gin):
    return None
  with open(gin, encoding="utf-8") as f:
    m = re.search(r"^TASKS_CONFIG\s*=\s*'([^']+)'", f.read(), re.M)
  if not m or not os.path.isfile(m.group(1)):
    return None
  with open(m.group(1), encoding="utf-8") as f:
    return json.load(f).get("vocabulary")


def find_vocabulary(path: str, explicit: Optional[str]) -> str:
  """--vocabulary, else a SentencePiece file in the directory, else the training tasks config's."""
  if explicit:
    return explicit
  for name in _SPM_NAMES:
    if os.path.isfile(os.path.join(path, name)):
      return os.path.join(path, name)
  found = _vocab_from_gin(path)
  if found:
    return found
  raise UserFacingError(f"{path}: no SentencePiece vocabulary found; give --vocabulary SPM_MODEL "
                        "(e.g. the run's tasks/spm.model or Flan-T5's)")


def _t5x_config(model_config: Optional[str]) -> T5Config:
  from recsaver_t5x.model import config as config_lib  # pylint: disable=import-outside-toplevel
  if not model_config:
    raise UserFacingError("a T5X checkpoint needs --model-config (a config JSON or a size name: "
                          f"{', '.join(config_lib.CONFIG_NAMES)})")
  if os.path.isfile(model_config):
    return config_lib.from_fixture_json(model_config)
  return config_lib.get_config(model_config)


def load_student(path: str, vocabulary: Optional[str] = None, step: Optional[int] = None,
                 model_config: Optional[str] = None, name: Optional[str] = None) -> Student:
  """Loads any of the three checkpoint kinds (see the module docstring) for serving."""
  # pylint: disable=import-outside-toplevel
  import numpy as np
  from recsaver_t5x.model import checkpoints
  from recsaver_t5x.model.vocab import get_vocabulary
  path = os.path.abspath(path)
  kind = checkpoint_kind(path)
  if kind == "recsaver":
    from recsaver_t5x.trainer.evaluate_lib import load_model
    config, params, step = load_model(path, step)
  elif kind == "hf":
    config, params = checkpoints.load_hf_checkpoint(path)
  else:
    config = _t5x_config(model_config)
    ckpt = os.path.join(path, f"checkpoint_{step}") if step is not None else path
    params = checkpoints.load_t5x_checkpoint(ckpt)
    m = re.fullmatch(r"checkpoint_(\d+)", os.path.basename(ckpt))
    step = int(m.group(1)) if m else checkpoints.latest_step(ckpt)
  config = config.replace(dropout_rate=0.0)
  dtype = np.dtype(config.parameter_dtype)
  params = checkpoints.unflatten({k: np.asarray(v).astype(dtype)
                                  for k, v in checkpoints.flatten(params).items()})
  vocab = get_vocabulary(find_vocabulary(path, vocabulary))
  if vocab.vocab_size > config.vocab_size:
    raise UserFacingError(f"the vocabulary has {vocab.vocab_size} pieces but the model only "
                          f"{config.vocab_size} embedding rows: wrong --vocabulary?")
  return Student(name=name or os.path.basename(path.rstrip("/")), kind=kind, config=config,
                 params=params, vocab=vocab, step=step, source=path)
