"""A reranker plugged in by name (`--reranker python:tests.rerank.plugin:reverse_reranker`)."""
import numpy as np


class Reverse:
  """Predicts a rating that falls with the retriever's rank: reverses every list."""

  name = "reverse retriever order"

  def __init__(self):
    self.calls = 0

  def score(self, queries):
    self.calls += sum(len(q.candidates) for q in queries)
    return [np.arange(len(q.candidates), dtype=float) for q in queries]


def reverse_reranker(context):
  assert context.domain and context.work_dir
  return Reverse()
