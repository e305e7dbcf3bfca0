"""Training scalars: TensorBoard event files and a JSON-lines log, written by process 0 only.

Event files are written with TensorFlow's core `tf.summary.write` and the "scalars" plugin
metadata, which is exactly what `tf.summary.scalar` writes, without needing the tensorboard
package at training time (install it only to view: `tensorboard --logdir MODEL_DIR`).
"""
from __future__ import annotations

import json
import os
from typing import Mapping, Optional


class MetricsWriter:
  """Writes scalars to `<model_dir>/train` (TensorBoard) and `<model_dir>/train_metrics.jsonl`."""

  def __init__(self, model_dir: str, enabled: bool = True, tensorboard: bool = True):
    self.enabled = enabled
    self._tb = None
    self._jsonl: Optional[str] = None
    if not enabled:
      return
    os.makedirs(model_dir, exist_ok=True)
    self._jsonl = os.path.join(model_dir, "train_metrics.jsonl")
    if tensorboard:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      from tensorflow.core.framework import summary_pb2  # pylint: disable=import-outside-toplevel
      self._tf = tf
      self._metadata = summary_pb2.SummaryMetadata(
          plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
      ).SerializeToString()
      self._tb = tf.summary.create_file_writer(os.path.join(model_dir, "train"))

  def write(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self.enabled:
      return
    if self._tb is not None:
      with self._tb.as_default(step=step):
        for k, v in scalars.items():
          self._tf.summary.write(k, self._tf.constant(float(v), self._tf.float32),
                                 metadata=self._metadata)
    with open(self._jsonl, "a", encoding="utf-8") as f:
      f.write(json.dumps({"step": int(step), **{k: float(v) for k, v in scalars.items()}}) + "\n")

  def flush(self) -> None:
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def read_metrics(model_dir: str) -> dict[int, dict]:
  """The logged scalars by step (the last record of a step wins: restarts rewrite steps)."""
  out: dict[int, dict] = {}
  path = os.path.join(model_dir, "train_metrics.jsonl")
  if not os.path.exists(path):
    return out
  with open(path, encoding="utf-8") as f:
    for line in f:
      line = line.strip()
      if not line:
        continue
      try:
        rec = json.loads(line)
      except json.JSONDecodeError:
        continue  # a line torn by kill -9
      out[int(rec["step"])] = rec
  return out
