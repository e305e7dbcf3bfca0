"""Reading and writing example files (JSON lines) and prepared-dataset directories."""
from __future__ import annotations

import json
import os
from typing import Iterable, Iterator

import orjson

from recsaver_t5x import paths, shapes
from recsaver_t5x.data.records import Example
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.jsonl import UTF8_BOM, iter_json_objects, read_json_object  # noqa: F401  (API)
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale


SPLITS = ("train", "test")
# A prepared dataset directory as a declared command argument (`cli` checks it before `main`): the
# files read in it are inputs, so no output may be one of them.
PREPARED_DIR = (paths.IN_DIR, "prepared dataset directory",
                tuple(f"{s}.jsonl" for s in SPLITS) + ("manifest.json",))


# The true rating of an example that has none: a candidate item to be scored (rerank), never a label.
UNLABELLED = 0


def iter_examples(path: str, scale: RatingScale = DEFAULT_SCALE,
                  labelled: bool = True) -> Iterator[Example]:
  """Yields examples from a JSONL file; a malformed record, or a rating off `scale`, names its
  file, line and field. `labelled=False`: every true rating must be `UNLABELLED`."""
  for lineno, obj in iter_json_objects(path):
    with shapes.reading(path, lineno):
      true = obj["true_rating"] if "true_rating" in obj else obj["rating"]  # the older name
      if labelled:
        shapes.as_rating(path, "true_rating", true, scale, line=lineno)
      elif true != UNLABELLED or isinstance(true, bool):
        raise InputError(path, f"must be {UNLABELLED} in an unlabelled split, got {true!r}",
                         line=lineno, field="true_rating")
      for i, h in enumerate(shapes.as_list(path, "history", obj["history"], dict, line=lineno)):
        shapes.as_rating(path, f"history[{i}].rating", h["rating"], scale, line=lineno)
      example = Example.from_dict(obj)
    yield example


def read_examples(path: str, scale: RatingScale = DEFAULT_SCALE, labelled: bool = True) -> list[Example]:
  """Reads all examples of a JSONL file."""
  return list(iter_examples(path, scale, labelled))


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
  manifest_path = _manifest_path(prepared_dir)
  if not os.path.isfile(manifest_path):
    return read_examples(path)
  manifest = read_manifest(prepared_dir)  # read once: the scale and whether the split is labelled
  return read_examples(path, _scale_of(manifest_path, manifest),
                       shapes.as_bool(manifest_path, "labelled", manifest.get("labelled", True)))


def write_unlabelled_split(out_dir: str, examples: Iterable[Example], scale: RatingScale) -> int:
  """A directory that reads like a prepared dataset whose test split is `examples` (true rating
  `UNLABELLED`: candidates to score) and whose train split is empty; the manifest carries the
  domain's scale, so history ratings are checked on it."""
  os.makedirs(out_dir, exist_ok=True)
  write_json_atomic(_manifest_path(out_dir), {"format": "recsaver-t5x unlabelled candidates v1",
                                              "labelled": False, "rating_scale": scale.to_dict()})
  write_examples(os.path.join(out_dir, "train.jsonl"), [])
  return write_examples(os.path.join(out_dir, "test.jsonl"), examples)


def rating_scale(prepared_dir: str) -> RatingScale:
  """The prepared domain's RatingScale (its manifest's `rating_scale`; 1..5 for older ones)."""
  return _scale_of(_manifest_path(prepared_dir), read_manifest(prepared_dir))


def _scale_of(manifest_path: str, manifest: dict) -> RatingScale:
  return shapes.as_scale(manifest_path, "rating_scale", manifest.get("rating_scale"))


def _manifest_path(prepared_dir: str) -> str:
  return os.path.join(prepared_dir, "manifest.json")


def read_manifest(prepared_dir: str) -> dict:
  """The manifest object (a file that is not JSON, or not an object, names itself)."""
  path = _manifest_path(prepared_dir)
  if not os.path.isfile(path):
    raise UserFacingError(f"{prepared_dir}: not a prepared dataset (no manifest.json)")
  return read_json_object(path)


def manifest_domain(prepared_dir: str) -> str:
  """The domain name in a prepared manifest (`config.domain`)."""
  path = _manifest_path(prepared_dir)
  config = shapes.as_object(path, "config", read_manifest(prepared_dir).get("config"))
  return shapes.as_str(path, "config.domain", config.get("domain"))


def manifest_examples(prepared_dir: str, split: str) -> int:
  """How many examples the manifest counts in `split` (`counts.<split>.examples`)."""
  path = _manifest_path(prepared_dir)
  counts = shapes.as_object(path, "counts", read_manifest(prepared_dir).get("counts"))
  split_counts = shapes.as_object(path, f"counts.{split}", counts.get(split))
  return shapes.as_int(path, f"counts.{split}.examples", split_counts.get("examples"), 0)


def manifest_sources(prepared_dir: str) -> tuple[list[str], list[str]]:
  """(review files, metadata files) a prepared manifest names (`sources`: [{path, role}])."""
  path = _manifest_path(prepared_dir)
  sources = shapes.as_list(path, "sources", read_manifest(prepared_dir).get("sources", []), dict)
  out: dict[str, list[str]] = {"reviews": [], "meta": []}
  for i, s in enumerate(sources):
    role = shapes.as_str(path, f"sources[{i}].role", s.get("role"))
    if role in out:
      out[role].append(shapes.as_str(path, f"sources[{i}].path", s.get("path")))
  if not out["reviews"]:
    raise InputError(path, "names no review source files", field="sources")
  return out["reviews"], out["meta"]


def write_json_atomic(path: str, obj) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2, sort_keys=False)
    f.write("\n")
  os.replace(tmp, path)
