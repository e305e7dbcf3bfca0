"""argparse `type=` helpers: every flag is checked when the command line is parsed, before any work.

argparse turns an `ArgumentTypeError` into its usual one-line usage error ("argument --limit:
must be >= 1, got -1"), so a bad count never reaches a file, a teacher or TensorFlow. A leaf
module (it imports only `errors`), so every subcommand may use it; `tests/cli` checks that no
subcommand option is a bare `type=int` or `type=float`.
"""
from __future__ import annotations

import argparse
import math
import re
from typing import Callable, Sequence
from urllib.parse import urlsplit

from recsaver_t5x.errors import UserFacingError

_FLAG_PREFIX = re.compile(r"^--[\w-]+(?: '[^']*')?: ")
_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*", re.IGNORECASE)


def _integer(text: str) -> int:
  try:
    return int(str(text).strip().replace("_", ""))
  except ValueError:
    raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _real(text: str) -> float:
  try:
    value = float(str(text).strip())
  except ValueError:
    raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
  if not math.isfinite(value):
    raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
  return value


def int_at_least(low: int, high: float = math.inf) -> Callable[[str], int]:
  """A `type=` for integers in low..high."""
  def parse(text: str) -> int:
    value = _integer(text)
    if value < low:
      raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    if value > high:
      raise argparse.ArgumentTypeError(f"must be <= {high}, got {value}")
    return value
  parse.__name__ = "int"  # argparse names the type in some messages
  return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def float_in(low: float, high: float = math.inf, low_open: bool = False,
             high_open: bool = False) -> Callable[[str], float]:
  """A `type=` for finite floats in [low, high] (either end open on request)."""
  def parse(text: str) -> float:
    value = _real(text)
    if value < low or (low_open and value == low) or value > high or (high_open and value == high):
      lo, hi = "(" if low_open else "[", ")" if high_open else "]"
      raise argparse.ArgumentTypeError(f"must be in {lo}{low:g}, {high:g}{hi}, got {text}")
    return value
  parse.__name__ = "float"
  return parse


positive_float = float_in(0.0, low_open=True)
nonneg_float = float_in(0.0)


def memory_size(text: str) -> str:
  """A memory amount as DuckDB reads it ('2GB', '512MiB', '100000B'); returned normalised."""
  m = _MEMORY.fullmatch(str(text))
  if not m or float(m.group(1)) <= 0:
    raise argparse.ArgumentTypeError(
        f"not a memory size: {text!r} (e.g. 2GB, 512MB, 1.5GiB)")
  return f"{m.group(1)}{(m.group(2) or 'B').upper().replace('I', 'i')}"


def checked(check: Callable[[str], object]) -> Callable[[str], str]:
  """A `type=` that runs `check(text)` (raising ValueError or UserFacingError) and returns the
  text unchanged."""
  def parse(text: str) -> str:
    try:
      check(text)
    except (ValueError, UserFacingError) as e:
      # argparse names the flag itself: "--scale '5..1': ..." -> "..."
      raise argparse.ArgumentTypeError(_FLAG_PREFIX.sub("", str(e))) from None
    return text
  parse.__name__ = getattr(check, "__name__", "value")
  return parse


def port(text: str) -> int:
  """A TCP port; 0 asks the system for a free one."""
  return int_at_least(0, 65535)(text)


def int_list(low: int = 1) -> Callable[[str], tuple[int, ...]]:
  """A `type=` for comma-separated integers >= low ('1,5,10' -> (1, 5, 10)); at least one."""
  item = int_at_least(low)

  def parse(text: str) -> tuple[int, ...]:
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
      raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    try:
      return tuple(item(p) for p in parts)
    except argparse.ArgumentTypeError as e:
      raise argparse.ArgumentTypeError(f"{e} (in {text!r})") from None
  parse.__name__ = "integer list"
  parse.comma_list = True  # a run file may give a TOML list: its items joined by commas
  return parse


def choice_list(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
  """A `type=` for a comma-separated subset of `choices` ('train,test'); at least one."""
  def parse(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in str(text).split(",") if p.strip())
    unknown = [p for p in parts if p not in choices]
    if unknown or not parts:
      raise argparse.ArgumentTypeError(
          f"unknown value(s) {', '.join(map(repr, unknown)) or repr(text)}; choose from "
          f"{', '.join(choices)} (comma-separated)")
    return parts
  parse.__name__ = "list"
  parse.comma_list = True
  return parse


def base_urls(text: str) -> str:
  """Comma-separated http(s) base URLs (an OpenAI-compatible server's, ending in /v1)."""
  for url in (u.strip() for u in str(text).split(",")):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
      raise argparse.ArgumentTypeError(
          f"not an http(s) URL: {url!r} (e.g. http://127.0.0.1:8080/v1)")
    try:
      parts.port  # pylint: disable=pointless-statement  (raises on a bad port)
    except ValueError as e:
      raise argparse.ArgumentTypeError(f"{url!r}: {e}") from None
  return text

