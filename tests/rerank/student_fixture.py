"""A small real student on real data: a tiny T5 trained by the toolkit on digital_music ratings.

The examples are the leave-last-out held-out interactions themselves (history = the user's
training reviews, target = the held-out item, rating = its true rating), so the student is a real
`recsaver train` model directory, built in seconds; it proves the plumbing, not the method.
"""
from __future__ import annotations

import json
import os

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data.records import Example
from recsaver_t5x.prompting import variants
from recsaver_t5x.rerank import interactions, split as split_lib
from recsaver_t5x.rerank.evaluate import build_queries

DOMAIN = "digital_music"
REVIEWS = "digital_music/reviews_Digital_Music_5.head6908.json.gz"
META = "digital_music/meta_Digital_Music.head7419.json.gz"
BUDGET = variants.Budget(max_prompt_chars=1200, max_field_chars=120)


def load(amazon_dir) -> tuple[split_lib.Split, dict]:
  data = interactions.read_interactions([str(amazon_dir / REVIEWS)], progress=False)
  split = split_lib.leave_last_out(data, "user")
  items = interactions.read_items([str(amazon_dir / META)], set(data.item_ids))
  return split, items


def train_student(directory: str, split: split_lib.Split, items: dict, n_examples: int = 64,
                  steps: int = 20) -> tuple[str, str]:
  """(model_dir, spm path) of a tiny rating-only student trained `steps` steps."""
  # pylint: disable=import-outside-toplevel
  import numpy as np
  from recsaver_t5x.model.config import get_config
  from recsaver_t5x.model.vocab import train_sentencepiece
  from recsaver_t5x.trainer import optimizers, train_lib
  pos = np.arange(n_examples)
  queries = build_queries(split, pos, split.heldout_items[pos][:, None],
                          np.full(n_examples, -1), items, max_history=10)
  rows = split.heldout_rows[pos]
  examples = [Example(f"{q.user_id}|{q.candidates[0].asin}", DOMAIN, q.user_id, q.history,
                      q.candidates[0], int(split.data.rating[r]), int(split.data.ts[r]), "train")
              for q, r in zip(queries, rows)]
  prepared = os.path.join(directory, "prepared")
  os.makedirs(prepared, exist_ok=True)
  data_io.write_examples(os.path.join(prepared, "train.jsonl"), examples)
  data_io.write_examples(os.path.join(prepared, "test.jsonl"), examples[:8])
  texts = [variants.build_prompt(e, v, budget=BUDGET).text for e in examples
           for v in ("reasoning", "no_reasoning")] + [f"### Rating ###\n{r}" for r in range(1, 6)]
  spm = train_sentencepiece(texts, os.path.join(directory, "spm"), 600, num_threads=1)
  cfg = {"vocabulary": spm, "ms": [1], "filters": ["all"], "mixtures": False,
         "budget": {"max_prompt_chars": BUDGET.max_prompt_chars,
                    "max_field_chars": BUDGET.max_field_chars},
         "domains": [{"name": DOMAIN, "prepared_dir": prepared, "wording": DOMAIN}]}
  tasks = os.path.join(directory, "tasks.json")
  with open(tasks, "w", encoding="utf-8") as f:
    json.dump(cfg, f)
  model_dir = os.path.join(directory, "student")
  train_lib.train(model_dir=model_dir, mixture_or_task_name=f"recsaver_{DOMAIN}_rating",
                  task_feature_lengths={"inputs": 512, "targets": 8}, train_steps=steps,
                  batch_size=8, model_config=get_config("tiny", emb_dim=32, head_dim=8, mlp_dim=64,
                                                        dropout_rate=0.0, dtype="float32"),
                  vocab_size=None, learning_rate_fn=optimizers.learning_rate_schedule(1e-2),
                  tasks_config=tasks, checkpoint_period=1000, log_every=10, report_mfu=False,
                  progress=False, async_checkpointing=False, tensorboard=False)
  return model_dir, spm
