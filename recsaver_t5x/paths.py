"""Checks on the paths a command was given, done before any work (a leaf module).

File-system errors that happen later still end as one line naming the path (`errors.one_line`);
these checks only make the common mistakes fail early and say what was expected.
"""
from __future__ import annotations

import os
import tempfile
from typing import Iterable

from recsaver_t5x.errors import UserFacingError, one_line


def require_file(path: str, what: str = "file") -> str:
  """`path` must be an existing regular file (a directory is named as such, not 'no such file')."""
  if os.path.isdir(path):
    raise UserFacingError(f"{path}: is a directory, expected a {what}")
  if not os.path.exists(path):
    raise UserFacingError(f"{path}: no such {what}")
  return path


def writable_dir(path: str) -> str:
  """Creates `path` if needed and proves that a file can be written in it."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserFacingError(f"{path}: exists and is not a directory (expected an output directory)")
  try:
    os.makedirs(path, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    e.filename, e.filename2 = path, None
    raise UserFacingError(f"output directory {one_line(e)}") from None
  return path


def distinct_outputs(outputs: Iterable[str], inputs: Iterable[str]) -> None:
  """No output may be (or contain) an input: writing it would destroy the input."""
  ins = [(p, os.path.realpath(p)) for p in inputs if p]
  for out in outputs:
    if not out:
      continue
    real = os.path.realpath(out)
    for given, src in ins:
      if real == src or (os.path.isfile(src) and os.path.exists(real) and os.path.samefile(real, src)):
        raise UserFacingError(f"{out}: the output is the input {given}; choose another output path")
