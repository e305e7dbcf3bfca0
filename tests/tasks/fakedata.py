"""Small, real (not mocked) inputs for task and trainer tests: examples, a sample store, an spm."""
from __future__ import annotations

import json
import os
import random
from typing import Optional, Sequence

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.teacher.store import Sample, SampleKey, SampleStore

WORDS = ("soft", "gentle", "rich", "light", "fresh", "floral", "matte", "dewy", "classic", "bold")


def make_examples(n: int, domain: str = "beauty", seed: int = 0, prefix: str = "ex",
                  history: int = 2) -> list[Example]:
  rng = random.Random(seed)
  out = []
  for i in range(n):
    hist = tuple(HistoryEntry(
        item=Item(asin=f"h{i}_{j}", title=f"{rng.choice(WORDS)} cream {j}", brand="acme",
                  categories=("skin", "care"), description=f"a {rng.choice(WORDS)} thing",
                  price="$5"),
        rating=rng.randint(1, 5), review=f"it was {rng.choice(WORDS)}", summary=None,
        timestamp=j) for j in range(history))
    out.append(Example(example_id=f"{prefix}{i}", domain=domain, user_id=f"u{i}", history=hist,
                       target=Item(asin=f"t{i}", title=f"{rng.choice(WORDS)} serum"),
                       true_rating=(i % 5) + 1, timestamp=99, split=""))
  return out


def write_prepared(directory: str, train: Sequence[Example], test: Sequence[Example]) -> str:
  os.makedirs(directory, exist_ok=True)
  data_io.write_examples(os.path.join(directory, "train.jsonl"), train)
  data_io.write_examples(os.path.join(directory, "test.jsonl"), test)
  with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"counts": {"train": len(train), "test": len(test)}}, f)
  return directory


def answer(reason: str, rating: Optional[int]) -> str:
  tail = f"\n### Rating ###\n{rating}" if rating is not None else "\n### Rating ###\nno idea"
  return f"### Reason ###\n{reason}{tail}"


def write_store(path: str, answers: dict[tuple[str, int], str], model: str = "teacher",
                temperature: float = 0.7) -> str:
  with SampleStore(path) as store:
    for (example_id, idx), text in sorted(answers.items()):
      store.put(Sample(SampleKey(example_id, "reasoning", model, temperature, idx), text))
  return path


def train_spm(directory: str, texts: Sequence[str], vocab_size: int = 200) -> str:
  """A small SentencePiece model trained by the toolkit (markers and digits are pieces)."""
  from recsaver_t5x.model.vocab import train_sentencepiece  # pylint: disable=import-outside-toplevel
  return train_sentencepiece(texts, os.path.join(directory, "spm"), vocab_size, num_threads=1)
