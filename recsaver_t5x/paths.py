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
    raise UserFacingError(f"{path}: is a directory, expected {_a(what)}")
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


def _a(what: str) -> str:
  return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def require_dir(path: str, what: str = "directory") -> str:
  """`path` must be an existing directory (a file is named as such, not 'no such directory')."""
  if os.path.isfile(path):
    raise UserFacingError(f"{path}: is a file, expected a {what}")
  if not os.path.isdir(path):
    raise UserFacingError(f"{path}: no such {what}")
  return path


def require_path(path: str, what: str = "file or directory") -> str:
  if not os.path.exists(path):
    raise UserFacingError(f"{path}: no such {what}")
  return path


def _probe_writable(path: str, what: str, shown: str) -> None:
  """A file can be created under directory `path` (which need not exist yet); nothing is left.

  The probe writes in the deepest existing directory of `path`, so that an immutable directory
  (chattr +i, which stops root too) or a read-only mount is found without creating anything.
  Messages start with `what` and `shown` (the path the user gave).
  """
  existing = os.path.abspath(path)
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise UserFacingError(f"{what} {shown}: {existing} is a file, expected a directory")
  try:
    fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=existing)
    os.close(fd)
    os.unlink(probe)
  except OSError as e:
    e.filename, e.filename2 = shown, None
    where = "" if existing == os.path.abspath(shown) else f"cannot create a file in {existing}: "
    raise UserFacingError(f"{what} {one_line(e).replace(': ', ': ' + where, 1)}") from None


def output_file(path: str, what: str = "output file") -> str:
  """`path` can be written as a file: not a directory, and its directory can take a new file."""
  if os.path.isdir(path):
    raise UserFacingError(f"{path}: is a directory, expected {_a(what)}")
  _probe_writable(os.path.dirname(os.path.abspath(path)), what, path)
  return path


def output_dir(path: str, what: str = "output directory") -> str:
  """`path` is (or can be created as) a directory a file can be written in; nothing is created."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserFacingError(f"{path}: exists and is not a directory (expected {_a(what)})")
  _probe_writable(path, what, path)
  return path


# Roles of a command's path arguments, declared by each subcommand module as
# `PATHS = {dest: (role, what)}` and checked by `recsaver_t5x.cli` after parsing, before `main`.
IN_FILE, IN_DIR, IN_ANY, MAYBE_FILE, OUT_FILE, OUT_DIR = (
    "in-file", "in-dir", "in-any", "maybe-file", "out-file", "out-dir")


def check_declared(args, declared: dict) -> None:
  """Checks every path argument by its declared role, and that no output is an input.

  Roles: in-file / in-dir / in-any (must exist, of that kind); maybe-file (read if it exists:
  not a directory); out-file (written or appended: not a directory, its directory writable);
  out-dir (created and written: not a file, writable; nothing is created here). An output may
  not be an input file, nor a file directly in an input directory that the command reads (writing
  it would destroy the input). An in-dir may name those files as a third element (a prepared
  dataset's `train.jsonl`, `test.jsonl`, `manifest.json`): then a store or a result kept beside
  them is not an input and is written again when a run resumes; otherwise every existing file in
  it counts. Inputs are checked first, then the overlap, then the outputs.
  """
  given = []
  reads = {}  # input directory -> the file names read in it, where declared
  for dest, (role, what, *names) in declared.items():
    value = getattr(args, dest, None)
    for path in [] if value is None else value if isinstance(value, (list, tuple)) else [value]:
      given.append((role, what, path))
      if names:
        reads[path] = frozenset(names[0])
  inputs, input_dirs = [], []
  for role, what, path in given:
    if role == IN_FILE:
      inputs.append(require_file(path, what))
    elif role == IN_DIR:
      input_dirs.append(require_dir(path, what))
    elif role == IN_ANY:
      (input_dirs if os.path.isdir(require_path(path, what)) else inputs).append(path)
    elif role == MAYBE_FILE:
      if os.path.isdir(path):
        raise UserFacingError(f"{path}: is a directory, expected {_a(what)}")
      inputs.append(path)
    elif role not in (OUT_FILE, OUT_DIR):
      raise ValueError(f"unknown path role {role!r}")
  outputs = [path for role, _, path in given if role in (OUT_FILE, OUT_DIR)]
  distinct_outputs(outputs, inputs)
  for out in outputs:  # e.g. `--out PREPARED/test.jsonl`
    real = os.path.realpath(out)
    for d in input_dirs:
      # Where the files read in `d` are declared, only they are inputs: a store or a result kept
      # beside them is written again when a run resumes.
      read = os.path.basename(real) in reads[d] if d in reads else os.path.isfile(real)
      if read and os.path.dirname(real) == os.path.realpath(d):
        raise UserFacingError(f"{out}: the output is a file of the input {d}; choose another "
                              "output path")
  for role, what, path in given:
    if role == OUT_FILE:
      output_file(path, what)
    elif role == OUT_DIR:
      output_dir(path, what)
