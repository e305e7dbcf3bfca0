"""`recsaver tasks`: the offline vocabulary and the SeqIO tasks config (tasks.json) for training.

    recsaver tasks runs/x/prepared/beauty runs/x/prepared/music --out runs/x/tasks \\
        --store runs/x/teacher/samples.jsonl --wording music=digital_music --ms 1,3 --filters all,exact

Trains a SentencePiece model on the prompts and teacher answers (unless --vocabulary is given)
and writes tasks.json with paths relative to it (a run dir can move). Domains without training
examples are left out.
"""
from __future__ import annotations

import argparse
import os

from recsaver_t5x import argtypes
from recsaver_t5x import paths as _p
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_DIR, "tasks directory"),
    "store": (_p.MAYBE_FILE, "sample store"),
    "vocabulary": (_p.IN_FILE, "SentencePiece model"),
}


# The keys of recsaver_t5x.tasks.filters.FILTERS (tests/cli keeps them equal): importing the
# tasks package loads TensorFlow, too slow for checking a flag or a run file.
FILTER_NAMES = ("all", "exact", "binary", "oneoff")


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", nargs="+", help="prepared domain directories (from `recsaver prepare`)")
  p.add_argument("--out", required=True, help="tasks directory: spm.model and tasks.json")
  p.add_argument("--store", help="teacher sample store (reasoning targets; also vocabulary text)")
  p.add_argument("--wording", action="append", default=[], metavar="DOMAIN=WORDING",
                 help="prompt wording preset of a domain (default: its name)")
  p.add_argument("--exp3rt", action="append", default=[], metavar="DOMAIN=DIR",
                 help="a domain's EXP3RT directory (`recsaver preferences/profiles/exp3rt-rationales`)")
  p.add_argument("--temperature", type=argtypes.nonneg_float, default=0.7,
                 help="sampling temperature of the reasoning paths in the store")
  p.add_argument("--vocabulary", help="an existing SentencePiece model (e.g. Flan-T5's) instead of training one")
  p.add_argument("--vocab-size", type=argtypes.positive_int, default=2000)
  p.add_argument("--ms", default=(1,), type=argtypes.int_list(1),
                 help="reasoning paths per example, comma-separated (task names _m<M>)")
  p.add_argument("--filters", default=("all",), type=argtypes.choice_list(FILTER_NAMES),
                 help="reasoning-path filters, comma-separated")
  p.add_argument("--max-prompt-chars", type=argtypes.positive_int, help="prompt character budget")


def _pairs(values: list[str], flag: str) -> dict[str, str]:
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  out = {}
  for v in values:
    name, sep, value = v.partition("=")
    if not sep or not name or not value:
      raise UserFacingError(f"{flag} wants DOMAIN=VALUE, got {v!r}")
    out[name] = value
  return out


def _vocab_texts(prepared: dict[str, str], store: str | None, wording: dict[str, str]):
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.prompting.templates import wording_for
  from recsaver_t5x.prompting.variants import build_prompt
  from recsaver_t5x.teacher.store import SampleStore
  for name, d in prepared.items():
    preset = wording_for(wording.get(name, name))
    for split in ("train", "test"):
      for ex in data_io.read_split(d, split):
        yield build_prompt(ex, "reasoning", preset).text
  if store and os.path.exists(store):
    for s in SampleStore(store, readonly=True).select():
      yield s.text


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.model import vocab
  wording, exp3rt = _pairs(args.wording, "--wording"), _pairs(args.exp3rt, "--exp3rt")
  os.makedirs(args.out, exist_ok=True)
  rel = lambda p: os.path.relpath(p, args.out)  # pylint: disable=unnecessary-lambda-assignment
  domains, names = [], {}
  for d in args.prepared:
    name = data_io.manifest_domain(d)
    names[name] = d  # every domain's prompts feed the vocabulary, also one left out of the tasks
    if not data_io.manifest_examples(d, "train"):
      print(f"  [{name}] no train examples: left out of the tasks")
      continue
    entry = {"name": name, "prepared_dir": rel(d), "wording": wording.get(name, name),
             "temperature": args.temperature}
    if args.store:
      entry["samples_store"] = rel(args.store)
    if name in exp3rt:
      entry["exp3rt"] = rel(exp3rt[name])
    domains.append(entry)
  if not domains:
    raise UserFacingError("no domain has training examples; nothing to fine-tune")
  spm = args.vocabulary or rel(vocab.train_sentencepiece(_vocab_texts(names, args.store, wording),
                                                         os.path.join(args.out, "spm"), args.vocab_size))
  tasks = {"vocabulary": spm, "ms": list(args.ms), "filters": list(args.filters),
           "domains": domains, "mixtures": True}
  if args.max_prompt_chars:
    tasks["budget"] = {"max_prompt_chars": args.max_prompt_chars}
  data_io.write_json_atomic(os.path.join(args.out, "tasks.json"), tasks)
  print(f"  tasks: {os.path.join(args.out, 'tasks.json')} ({', '.join(d['name'] for d in domains)}; "
        f"vocabulary {spm})")
  return 0
