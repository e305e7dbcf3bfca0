"""Errors that the CLI prints as one line (file, line, field) instead of a traceback."""
from __future__ import annotations

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
