"""Reading JSON-lines files: one object per line, a bad line named by its number (core: no deps)."""
from __future__ import annotations

import json
from typing import Any, Iterator

import orjson

from recsaver_t5x.errors import InputError
from recsaver_t5x.shapes import as_object

UTF8_BOM = b"\xef\xbb\xbf"


def iter_json_objects(path: str) -> Iterator[tuple[int, dict]]:
  """Yields (line number, object) of a JSONL file; a bad line is an InputError naming it."""
  with open(path, "rb") as f:
    for lineno, line in enumerate(f, 1):
      if lineno == 1 and line.startswith(UTF8_BOM):  # files saved by Excel/Notepad start with one
        line = line[len(UTF8_BOM):]
      if not line.strip():
        continue
      try:
        obj = orjson.loads(line)
      except orjson.JSONDecodeError as e:
        try:
          line.decode("utf-8")
        except UnicodeDecodeError as u:  # say so, rather than orjson's "surrogates not allowed"
          raise InputError(path, f"not UTF-8 text (byte 0x{line[u.start]:02x} at column "
                           f"{u.start + 1}); save the file as UTF-8", line=lineno) from None
        raise InputError(path, f"not valid JSON ({e})", line=lineno) from None
      if not isinstance(obj, dict):
        raise InputError(path, "each line must be a JSON object", line=lineno)
      yield lineno, obj


def read_json(path: str) -> Any:
  """The value of a JSON file (a BOM is allowed); not UTF-8 or not JSON names the file and line.

  Python's parser, not orjson: files our own commands wrote may hold NaN (an undefined metric).
  """
  with open(path, "rb") as f:
    data = f.read()
  if data.startswith(UTF8_BOM):
    data = data[len(UTF8_BOM):]
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise InputError(path, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                     "save the file as UTF-8") from None
  if not text.strip():
    raise InputError(path, "empty file, expected JSON")
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise InputError(path, f"not valid JSON ({e.msg} at column {e.colno})", line=e.lineno) from None


def read_json_object(path: str) -> dict:
  """`read_json` of a file that must hold one object ({...})."""
  return as_object(path, None, read_json(path))
