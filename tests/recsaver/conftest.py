"""Fixtures for the Rec-SAVER tests: example records and the real embedded teacher."""
import pytest

from recsaver_t5x.data.records import Example, HistoryEntry, Item

HISTORY = (
    ("Gentle Daily Shampoo", 5, "Smells lovely and leaves my hair soft. No harsh fragrance."),
    ("Argan Oil Hair Mask", 4, "Works well on dry ends, a bit greasy if you use too much."),
    ("Volumizing Hair Spray", 2, "Sticky and the scent is overpowering. Would not buy again."),
    ("Fragrance-Free Conditioner", 5, "Finally a conditioner that does not irritate my scalp."),
)


def beauty_example(example_id: str, rating: int, title: str = "Hydrating Conditioner") -> Example:
  hist = tuple(
      HistoryEntry(item=Item(asin=f"B0{j}{example_id}", title=t, brand="Acme",
                             categories=("Beauty", "Hair Care"),
                             description="Salon-quality hair care for everyday use.",
                             price="$12.99"),
                   rating=r, review=rev, summary=None, timestamp=1_500_000_000 + j)
      for j, (t, r, rev) in enumerate(HISTORY))
  return Example(example_id=example_id, domain="all_beauty", user_id=f"U{example_id}",
                 history=hist,
                 target=Item(asin=f"T{example_id}", title=title, brand="Acme",
                             categories=("Beauty", "Hair Care"),
                             description="A lightweight, fragrance-free conditioner for dry hair.",
                             price="$9.50"),
                 true_rating=rating, timestamp=1_600_000_000, split="test")


@pytest.fixture(scope="session")
def llama_teacher():
  """The embedded llama.cpp server with the packaged SmolLM2 on 127.0.0.1."""
  from recsaver_t5x.teacher import server
  spec = server.ServerSpec(server.packaged_gguf(), n_ctx=4096)
  with server.LlamaServer(spec) as s:
    yield s
