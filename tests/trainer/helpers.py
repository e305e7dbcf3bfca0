"""A tiny real domain (JSONL examples, sample store, SentencePiece model, tasks config)."""
from __future__ import annotations

import json
import os
import pathlib

from recsaver_t5x.prompting import variants
from tests.tasks import fakedata

REPO = pathlib.Path(__file__).resolve().parents[2]


def make_domain(directory: str, n_train: int = 16, n_test: int = 8, name: str = "beauty") -> str:
  """Writes prepared data, teacher samples, an spm and tasks.json; returns the config path."""
  train = fakedata.make_examples(n_train, "beauty", seed=1, prefix="tr")
  test = fakedata.make_examples(n_test, "beauty", seed=2, prefix="te")
  fakedata.write_prepared(os.path.join(directory, "prepared"), train, test)
  answers = {(ex.example_id, 0): fakedata.answer(f"likes {ex.example_id} things", ex.true_rating)
             for ex in train + test}
  store = fakedata.write_store(os.path.join(directory, "samples.jsonl"), answers)
  texts = [variants.build_prompt(ex, "reasoning").text for ex in train + test]
  texts += [variants.build_prompt(ex, "no_reasoning").text for ex in train]
  texts += list(answers.values())
  vocab = fakedata.train_spm(directory, texts, vocab_size=300)
  cfg = {"vocabulary": vocab, "ms": [1], "filters": ["all"],
         "domains": [{"name": name, "prepared_dir": os.path.join(directory, "prepared"),
                      "samples_store": store}]}
  path = os.path.join(directory, "tasks.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump(cfg, f)
  return path


def subprocess_env(*prepend: str, **extra) -> dict:
  """The environment for a child process: `prepend` dirs, then this repo, PREPENDED to PYTHONPATH.

  The caller's PYTHONPATH is kept after them (it may be what makes T5X or a worktree importable).
  """
  old = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
  path = [*prepend, str(REPO), *old]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(path)),
             TF_CPP_MIN_LOG_LEVEL="2", XLA_FLAGS=os.environ.get("XLA_FLAGS", ""))
  env.update(extra)
  return env
