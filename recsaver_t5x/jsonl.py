"""Reading JSON-lines files: one object per line, a bad line named by its number (core: no deps)."""
from __future__ import annotations

from typing import Iterator

import orjson

from recsaver_t5x.errors import InputError

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
        raise InputError(path, f"not valid JSON ({e})", line=lineno) from None
      if not isinstance(obj, dict):
        raise InputError(path, "each line must be a JSON object", line=lineno)
      yield lineno, obj
