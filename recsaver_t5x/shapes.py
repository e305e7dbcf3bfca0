"""Shape checks for JSON/TOML config values: one line naming the file and the field on mismatch.

Configs are plain JSON objects, so their mistakes are of a few kinds: the wrong container (an
array where an object belongs), an unknown key (a typo that would silently be ignored or crash
a constructor), a value of the wrong type ("five" for a rating). These helpers check exactly
those and return the value, so call sites read as `budget = as_dataclass(path, "budget", Budget,
raw)`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import typing
from typing import Any, Iterable, Iterator, Optional

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.scale import RatingScale

_JSON_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer",
               float: "a number", bool: "true or false", type(None): "null"}


def _name(v: Any) -> str:
  return _JSON_NAMES.get(type(v), type(v).__name__)


def _got(v: Any) -> str:
  """'a string 'five'', 'null', 'an array [1, 2]': what a value is, for a message."""
  return "null" if v is None else f"{_name(v)} {v!r}"


def as_object(path: str, field: Optional[str], value: Any, keys: Optional[Iterable[str]] = None,
              line: Optional[int] = None) -> dict:
  """`value` must be a JSON object; with `keys`, every key must be one of them."""
  if not isinstance(value, dict):
    what = f"the file must hold an object ({{...}})" if field is None else "must be an object"
    raise InputError(path, f"{what}, got {_name(value)}", line=line, field=field)
  if keys is not None:
    unknown = sorted(set(value) - set(keys))
    if unknown:
      raise InputError(path, f"unknown key(s) {', '.join(map(repr, unknown))}; known: "
                       f"{', '.join(sorted(keys))}", line=line, field=field)
  return value


def as_list(path: str, field: str, value: Any, item_type: type = object,
            line: Optional[int] = None) -> list:
  """`value` must be a JSON array whose items are `item_type`."""
  if not isinstance(value, list):
    raise InputError(path, f"must be an array, got {_name(value)}", line=line, field=field)
  for i, v in enumerate(value):
    if not _is(v, item_type):
      raise InputError(path, f"item {i} must be {_JSON_NAMES.get(item_type, item_type.__name__)}, "
                       f"got {_got(v)}", line=line, field=field)
  return value


def as_int(path: str, field: str, value: Any, low: Optional[int] = None, high: Optional[int] = None,
           line: Optional[int] = None) -> int:
  """`value` must be an integer (a JSON number without a fraction) in low..high."""
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  if not _is(value, int):
    raise InputError(path, f"must be an integer, got {_got(value)}", line=line, field=field)
  if (low is not None and value < low) or (high is not None and value > high):
    bounds = (f"in {low}..{high}" if low is not None and high is not None
              else f">= {low}" if low is not None else f"<= {high}")
    raise InputError(path, f"must be {bounds}, got {value}", line=line, field=field)
  return value


def as_dataclass(path: str, field: str, cls: type, value: Any, line: Optional[int] = None):
  """Builds dataclass `cls` from a JSON object, checking the keys and simple field types."""
  as_object(path, field, value, [f.name for f in dataclasses.fields(cls)], line=line)
  hints = typing.get_type_hints(cls)
  for key, v in value.items():
    allowed = _allowed_types(hints[key])
    if allowed and not any(_is(v, t) for t in allowed):
      raise InputError(path, f"must be {' or '.join(_JSON_NAMES.get(t, t.__name__) for t in allowed)}"
                       f", got {_got(v)}", line=line, field=f"{field}.{key}")
  return cls(**value)


def _allowed_types(hint) -> tuple:
  args = typing.get_args(hint) if typing.get_origin(hint) is typing.Union else (hint,)
  simple = tuple(a for a in args if a in (int, float, str, bool, type(None)))
  return simple if len(simple) == len(args) else ()  # complex hints are left to the constructor


def _is(v: Any, t: type) -> bool:
  if t is object:
    return True
  if t is int:
    return isinstance(v, int) and not isinstance(v, bool)
  if t is float:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
  return isinstance(v, t)


def as_rating(path: str, field: str, value: Any, scale: RatingScale,
              line: Optional[int] = None) -> int:
  """A rating on `scale`: an integer (4.0 is 4; 3.7, "four", null, NaN are not) in its range."""
  if isinstance(value, float) and not math.isfinite(value):
    raise InputError(path, f"must be an integer, got {value!r}", line=line, field=field)
  return as_int(path, field, value, scale.low, scale.high, line=line)


def as_str(path: str, field: str, value: Any, line: Optional[int] = None,
           empty: bool = False) -> str:
  """`value` must be a JSON string (non-empty unless `empty`); a number is not taken as one."""
  if not isinstance(value, str) or (not empty and not value.strip()):
    raise InputError(path, f"must be a{'' if empty else ' non-empty'} string, got {_got(value)}",
                     line=line, field=field)
  return value


def as_bool(path: str, field: str, value: Any, line: Optional[int] = None) -> bool:
  """`value` must be JSON true or false (1, "yes" and null are not)."""
  if not isinstance(value, bool):
    raise InputError(path, f"must be true or false, got {_got(value)}", line=line, field=field)
  return value


def as_scale(path: str, field: str, value: Any, line: Optional[int] = None) -> RatingScale:
  """A rating scale object {low, high, positive_above} (null or absent: the default 1..5)."""
  if value is None:
    return RatingScale()
  as_object(path, field, value, [f.name for f in dataclasses.fields(RatingScale)], line=line)
  for key, v in value.items():
    as_int(path, f"{field}.{key}", v, line=line)
  try:
    return RatingScale(**value)
  except ValueError as e:
    raise InputError(path, str(e), line=line, field=field) from None


@contextlib.contextmanager
def reading(path: str, line: Optional[int] = None, field: Optional[str] = None) -> Iterator[None]:
  """Turns the errors of reading one record (or one JSON file) into one line naming its place.

  Wrapped around the code that takes a parsed record apart: a missing key (KeyError) names the
  field; a value of the wrong type or shape (TypeError, ValueError, AttributeError, IndexError:
  int("five"), a list where an object belongs) names the file and line with Python's words.
  Keep the block tight: everything raised inside it is reported as a fault of the input.
  `field` names the part of the file being read ("predictions[3]"); a missing key is under it.
  """
  try:
    yield
  except (UserFacingError, UnicodeDecodeError):
    raise
  except json.JSONDecodeError as e:  # orjson's errors are JSONDecodeErrors too
    raise InputError(path, f"not valid JSON ({e})", line=line) from None
  except KeyError as e:
    key = str(e.args[0]) if e.args else None
    raise InputError(path, "missing (required)", line=line,
                     field=f"{field}.{key}" if field and key else field or key) from None
  except (TypeError, ValueError, AttributeError, IndexError) as e:
    raise InputError(path, f"a value of the wrong type or shape ({e})", line=line,
                     field=field) from None
