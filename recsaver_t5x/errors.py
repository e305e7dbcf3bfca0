"""Errors that the CLI prints as one line (file, line, field) instead of a traceback."""
from __future__ import annotations

import errno
import io
import json
import os
from typing import Optional


class UserFacingError(Exception):
  """Bad input or configuration: the message is complete and meant for the user."""


class InputError(UserFacingError):
  """A problem at a precise place in an input file."""

  def __init__(self, path: str, message: str, line: Optional[int] = None,
               field: Optional[str] = None):
    self.path, self.line, self.field, self.reason = path, line, field, message
    where = path + (f":{line}" if line is not None else "")
    what = f" field '{field}':" if field else ""
    super().__init__(f"{where}:{what} {message}")


# errno -> what the user should read; the rest use the system's own words.
_OS_WORDS = {
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory, expected a file",
    errno.ENOTDIR: "a part of this path is a file, expected a directory",
    errno.EACCES: "permission denied (not readable or not writable by this user)",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "on a read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EEXIST: "already exists (and is not what was expected)",
}


def one_line(e: BaseException) -> str:
  """The one-line message of a user-facing, file-system, text-decoding or JSON-decoding error.

  This is the one place where `OSError`, `UnicodeDecodeError` and `json.JSONDecodeError` (of a
  `json.load(f)` not done through `jsonl.read_json`) become messages naming the path, so that
  readers need not wrap every `open`.
  """
  if isinstance(e, json.JSONDecodeError):
    path = _open_file_in_traceback(e.__traceback__)
    return f"{path or 'input'}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})"
  if isinstance(e, UnicodeDecodeError):
    path = _open_file_in_traceback(e.__traceback__)
    byte = e.object[e.start:e.start + 1].hex() if e.object else "?"
    return (f"{path or 'input'}: not UTF-8 text (byte 0x{byte} at offset {e.start} of the "
            "decoded chunk); save the file as UTF-8")
  if isinstance(e, OSError) and not isinstance(e, UserFacingError):
    words = _OS_WORDS.get(e.errno, (e.strerror or str(e)).lower())
    paths = [p for p in (e.filename, e.filename2) if p is not None]
    where = " -> ".join(os.fsdecode(p) for p in paths) if paths else "file system"
    return f"{where}: {words}"
  return str(e)


def _open_file_in_traceback(tb) -> Optional[str]:
  """The name of the innermost open file object among the failing frames' locals, if any.

  A decoding error carries the bytes but not the file; the frame that was reading holds it.
  """
  names = []
  while tb is not None:
    for value in tb.tb_frame.f_locals.values():
      name = getattr(value, "name", None)
      if isinstance(value, io.IOBase) or hasattr(value, "readline"):
        if isinstance(name, (str, bytes)) and not isinstance(name, int):
          names.append(os.fsdecode(name))
    tb = tb.tb_next
  return names[-1] if names else None
