"""Fixtures: one real llama.cpp server (packaged SmolLM2) per session, and example records."""
import pytest

from recsaver_t5x.data.records import Example, HistoryEntry, Item


@pytest.fixture(scope="session")
def llama_server():
  """One embedded single-thread llama.cpp server on 127.0.0.1 with logprobs enabled."""
  from recsaver_t5x.teacher import server
  spec = server.ServerSpec(server.packaged_gguf(), n_ctx=2048, logits_all=True)
  with server.LlamaServer(spec) as s:
    yield s


def make_example(i: int, rating: int = 4, domain: str = "all_beauty", n_hist: int = 4) -> Example:
  hist = tuple(
      HistoryEntry(item=Item(asin=f"A{i}{j}", title=f"Shampoo {j}", brand="Acme",
                             categories=("Beauty", "Hair Care"), description="Gentle shampoo.",
                             price="$9.99"),
                   rating=(j % 5) + 1, review=f"Review {j}: nice smell.", summary="ok",
                   timestamp=1000 + j)
      for j in range(n_hist))
  return Example(example_id=f"ex{i}", domain=domain, user_id=f"u{i}", history=hist,
                 target=Item(asin=f"T{i}", title="Conditioner", brand="Acme",
                             categories=("Beauty",), description="Soft hair.", price="$5"),
                 true_rating=rating, timestamp=2000, split="test")
