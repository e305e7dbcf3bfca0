"""Training batches from SeqIO: deterministic, sharded per host, resumable at a batch position.

The pipeline is a pure function of (task, lengths, split, seed, pack, batch size, host shard):
seqio's seeded shuffles and tf.data's deterministic ordering give the same batches in the same
order on every run. Resuming at batch n rebuilds the pipeline and skips n batches, so a restart
sees exactly the batches an uninterrupted run would have seen (the cost is re-reading n batches
of preprocessed examples on restart, seconds for fine-tuning-sized data).
"""
from __future__ import annotations

import dataclasses
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np
import seqio
import tensorflow as tf

from recsaver_t5x.errors import UserFacingError

# The tasks package, by its T5X-facing name: like T5X's MIXTURE_OR_TASK_MODULE, the trainer imports
# task modules by name and never statically (it sits below the tasks; README "Layers").
TASKS_PACKAGE = "seqio_tasks"


def register_tasks(tasks_config: Optional[str], task_modules: Sequence[str] = ()) -> None:
  """Imports `task_modules` (they register tasks on import), then registers a tasks config JSON
  (`recsaver_t5x.tasks.from_config`) through TASKS_PACKAGE's `register_from_config`."""
  import importlib  # pylint: disable=import-outside-toplevel
  for module in task_modules:
    importlib.import_module(module)
  if tasks_config:
    importlib.import_module(TASKS_PACKAGE).register_from_config(tasks_config)


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """What `train` reads (T5X's DatasetConfig fields that matter here).

  Attributes:
    mixture_or_task_name: a registered seqio task or mixture.
    task_feature_lengths: {'inputs': n, 'targets': m}.
    split: the task split.
    batch_size: the GLOBAL batch size (all hosts together).
    shuffle: seeded shuffling (training).
    seed: the shuffle seed (fixed, so that restarts are exact).
    pack: pack several examples into one row (seqio EncDecFeatureConverter(pack=True)).
    use_cached: read the task's offline cache (seqio cache_tasks_main).
  """

  mixture_or_task_name: str
  task_feature_lengths: Mapping[str, int]
  batch_size: int
  split: str = "train"
  shuffle: bool = True
  seed: int = 0
  pack: bool = False
  use_cached: bool = False

  def to_dict(self) -> dict:
    d = dataclasses.asdict(self)
    d["task_feature_lengths"] = dict(self.task_feature_lengths)
    return d


def get_vocabularies(name: str) -> tuple[seqio.Vocabulary, seqio.Vocabulary]:
  try:
    provider = seqio.get_mixture_or_task(name)
  except ValueError as e:
    raise UserFacingError(f"seqio task or mixture '{name}' is not registered ({e}); register "
                          "domains first (TASKS_CONFIG / MIXTURE_OR_TASK_MODULE)") from None
  features = provider.output_features
  return features["inputs"].vocabulary, features["targets"].vocabulary


def get_dataset(cfg: DataConfig, num_epochs: Optional[int] = None, shard_index: int = 0,
                num_shards: int = 1, start_batch: int = 0, drop_remainder: bool = True
                ) -> tf.data.Dataset:
  """Batched model features for this host: [global batch / num_shards, length] arrays."""
  if cfg.batch_size % num_shards:
    raise UserFacingError(f"BATCH_SIZE={cfg.batch_size} is not divisible by the "
                          f"{num_shards} data-loading hosts")
  get_vocabularies(cfg.mixture_or_task_name)  # a clear error for unknown names
  shard = seqio.ShardInfo(index=shard_index, num_shards=num_shards) if num_shards > 1 else None
  ds = seqio.get_dataset(
      cfg.mixture_or_task_name, task_feature_lengths=dict(cfg.task_feature_lengths),
      feature_converter=seqio.EncDecFeatureConverter(pack=cfg.pack),
      dataset_split=cfg.split, use_cached=cfg.use_cached, shuffle=cfg.shuffle,
      num_epochs=num_epochs, shard_info=shard, seed=cfg.seed if cfg.shuffle else None,
      verbose=False)
  ds = ds.batch(cfg.batch_size // num_shards, drop_remainder=drop_remainder)
  if start_batch:
    ds = ds.skip(start_batch)
  options = tf.data.Options()
  options.deterministic = True
  return ds.with_options(options).prefetch(2)


def numpy_batches(ds: tf.data.Dataset) -> Iterator[dict[str, np.ndarray]]:
  for batch in ds.as_numpy_iterator():
    yield {k: np.asarray(v) for k, v in batch.items()}
