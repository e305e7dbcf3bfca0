"""Reading and writing example files (JSON lines) and prepared-dataset directories."""
from __future__ import annotations

import json
import os
from typing import Iterable, Iterator

import orjson

from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.jsonl import UTF8_BOM, iter_json_objects  # noqa: F401  (part of this module's API)


SPLITS = ("train", "test")


def iter_examples(path: str) -> Iterator[Example]:
  """Yields examples from a JSONL file, naming the line of any malformed record."""
  for lineno, obj in iter_json_objects(path):
    try:
      yield Example.from_dict(obj)
    except KeyError as e:
      raise InputError(path, "missing in example record", line=lineno, field=e.args[0]) from None


def read_examples(path: str) -> list[Example]:
  """Reads all examples of a JSONL file."""
  return list(iter_examples(path))


def write_examples(path: str, examples: Iterable[Example]) -> int:
  """Writes examples as JSONL atomically (temp file + rename); returns the count."""
  tmp = f"{path}.tmp"
  n = 0
  with open(tmp, "wb") as f:
    for ex in examples:
      f.write(orjson.dumps(ex.to_dict()) + b"\n")
      n += 1
  os.replace(tmp, path)
  return n


def read_split(prepared_dir: str, split: str) -> list[Example]:
  """Reads `<prepared_dir>/<split>.jsonl`."""
  path = os.path.join(prepared_dir, f"{split}.jsonl")
  if not os.path.isfile(path):
    raise UserFacingError(f"{prepared_dir}: not a prepared dataset (no {split}.jsonl); "
                          "run `recsaver prepare` first")
  return read_examples(path)


def rating_scale(prepared_dir: str):
  """The prepared domain's RatingScale (its manifest's `rating_scale`; 1..5 for older ones)."""
  from recsaver_t5x.scale import RatingScale  # pylint: disable=import-outside-toplevel
  return RatingScale.from_dict(read_manifest(prepared_dir).get("rating_scale"))


def read_manifest(prepared_dir: str) -> dict:
  path = os.path.join(prepared_dir, "manifest.json")
  if not os.path.isfile(path):
    raise UserFacingError(f"{prepared_dir}: not a prepared dataset (no manifest.json)")
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def write_json_atomic(path: str, obj) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2, sort_keys=False)
    f.write("\n")
  os.replace(tmp, path)
