"""Streaming readers for Amazon review dumps (2018 "v2" JSON lines and 2014 files).

Every record is validated where it is read, so a bad line ends in one error naming the file, the
line number and the field - or, with `skip_bad=True`, in a counted skip reported at the end.
Files are read line by line (gzip or plain, detected by magic bytes): memory does not grow with
file size.
"""
from __future__ import annotations

import ast
import collections
import dataclasses
import gzip
import html
import math
import re
import zlib
from typing import Any, Iterator, NamedTuple, Optional

import orjson

from recsaver_t5x.data.records import Item
from recsaver_t5x.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclasses.dataclass
class SkipCounter:
  """Counts skipped records by reason when the user asked to skip bad records."""

  skip_bad: bool = False
  counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  first: dict = dataclasses.field(default_factory=dict)

  def bad(self, err: InputError) -> None:
    if not self.skip_bad:
      raise err
    key = f"field '{err.field}'" if err.field else "record"
    self.counts[key] += 1
    self.first.setdefault(key, str(err))

  @property
  def total(self) -> int:
    return sum(self.counts.values())

  def summary(self) -> list[str]:
    return [f"{n} skipped: bad {k} (first: {self.first[k]})" for k, n in self.counts.most_common()]


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
  """Yields (line number, raw line) of a gzip or plain text file; errors name the file."""
  with open(path, "rb") as probe:
    magic = probe.read(2)
  if not magic:
    raise InputError(path, "file is empty")
  opener = gzip.open if magic == _GZIP_MAGIC else open
  lineno = 0
  n_nonblank = 0
  try:
    with opener(path, "rb") as f:
      for lineno, line in enumerate(f, 1):
        if lineno == 1 and line.startswith(_UTF8_BOM):  # a BOM is not part of the first record
          line = line[len(_UTF8_BOM):]
        if line.strip():
          n_nonblank += 1
          yield lineno, line
  except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
    raise InputError(path, f"corrupt or truncated gzip stream after line {lineno} ({e})",
                     line=lineno + 1) from None
  if n_nonblank == 0:
    raise InputError(path, "file has no records (empty after decompression)")


def _loads(path: str, lineno: int, line: bytes, allow_literal: bool) -> dict:
  try:
    obj = orjson.loads(line)
  except orjson.JSONDecodeError as e:
    try:
      text = line.decode("utf-8")
    except UnicodeDecodeError as ue:
      raise InputError(path, f"undecodable bytes (not UTF-8) at byte {ue.start}", line=lineno) from None
    if not allow_literal:
      raise InputError(path, f"not a JSON object ({e.msg})", line=lineno) from None
    # 2014 metadata lines are Python dict literals; literal_eval evaluates literals only.
    try:
      obj = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
      raise InputError(path, "neither JSON nor a Python dict literal", line=lineno) from None
  if not isinstance(obj, dict):
    raise InputError(path, f"expected an object, got {type(obj).__name__}", line=lineno)
  return obj


class RawReview(NamedTuple):
  """One validated review line (a NamedTuple: millions are built per category)."""

  user_id: str
  asin: str
  rating: int
  timestamp: int
  review: Optional[str]
  summary: Optional[str]
  line: int


def _text(v: Any) -> Optional[str]:
  if v is None:
    return None
  s = v if isinstance(v, str) else str(v)
  return s if s.strip() else None


def parse_review(obj: dict, path: str, lineno: int) -> RawReview:
  """Validates one review record (2014 and 2018 layouts share these fields)."""
  for key in ("reviewerID", "asin"):
    v = obj.get(key)
    if not isinstance(v, str) or not v:
      raise InputError(path, "missing or not a non-empty string", line=lineno, field=key)
  if "overall" not in obj:
    raise InputError(path, "missing (the rating)", line=lineno, field="overall")
  overall = obj["overall"]
  if isinstance(overall, str):
    try:
      overall = float(overall)
    except ValueError:
      raise InputError(path, f"not a number: {obj['overall']!r}", line=lineno, field="overall") from None
  if isinstance(overall, bool) or not isinstance(overall, (int, float)) or not math.isfinite(overall):
    raise InputError(path, f"not a number: {obj['overall']!r}", line=lineno, field="overall")
  if overall not in (1, 2, 3, 4, 5):
    raise InputError(path, f"rating {overall!r} outside 1..5", line=lineno, field="overall")
  ts = obj.get("unixReviewTime")
  if isinstance(ts, str) and ts.isdigit():
    ts = int(ts)
  if not isinstance(ts, int) or isinstance(ts, bool):
    raise InputError(path, "missing or not an integer", line=lineno, field="unixReviewTime")
  return RawReview(obj["reviewerID"], obj["asin"], int(overall), ts, _text(obj.get("reviewText")),
                   _text(obj.get("summary")), lineno)


def iter_reviews(path: str, skips: SkipCounter) -> Iterator[RawReview]:
  """Yields validated reviews of one file; bad records raise or are counted in `skips`."""
  for lineno, line in iter_lines(path):
    try:
      yield parse_review(_loads(path, lineno, line, allow_literal=False), path, lineno)
    except InputError as e:
      skips.bad(e)


def _categories(obj: dict) -> Optional[tuple[str, ...]]:
  # 2018: "category": [path elements]; 2014: "categories": [[path], [path], ...].
  raw = obj.get("category", obj.get("categories"))
  if not raw:
    return None
  flat: list[str] = []
  for c in raw:
    for name in (c if isinstance(c, list) else [c]):
      name = str(name).strip()
      if name and name not in flat:
        flat.append(name)
  return tuple(flat) or None


def _description(v: Any) -> Optional[str]:
  if isinstance(v, list):  # 2018 stores a list of paragraphs.
    v = " ".join(str(x).strip() for x in v if str(x).strip())
  return _text(v)


def _unescape(v: Optional[str]) -> Optional[str]:
  # Amazon metadata carries HTML entities (&quot;, &amp;) that would reach the prompts verbatim.
  return html.unescape(v) if v else v


def _price(v: Any) -> Optional[str]:
  if v is None or v == "":
    return None
  if isinstance(v, (int, float)) and not isinstance(v, bool):  # 2014 stores a float.
    return f"${v:.2f}"
  return _text(v)


def parse_meta(obj: dict, path: str, lineno: int) -> Item:
  """Validates one metadata record of either layout; absent fields stay None."""
  asin = obj.get("asin")
  if not isinstance(asin, str) or not asin:
    raise InputError(path, "missing or not a non-empty string", line=lineno, field="asin")
  return Item(asin=asin, title=_unescape(_text(obj.get("title"))), brand=_text(obj.get("brand")),
              categories=_categories(obj), description=_unescape(_description(obj.get("description"))),
              price=_price(obj.get("price")))


_LITERAL_ASIN = re.compile(rb"""['"]asin['"]\s*:\s*['"]([^'"]+)['"]""")


def iter_meta(path: str, skips: SkipCounter, wanted: Optional[set[str]] = None) -> Iterator[Item]:
  """Yields item metadata of a 2018 (JSON) or 2014 (Python literal) metadata file.

  With `wanted`, 2014 literal lines of other items are skipped before `ast.literal_eval` (which is
  ~50x slower than JSON parsing); JSON lines are always parsed and validated.
  """
  for lineno, line in iter_lines(path):
    if wanted is not None and line.lstrip()[:1] == b"{" and b"'asin'" in line[:400]:
      m = _LITERAL_ASIN.search(line)
      if m and m.group(1).decode("utf-8", "replace") not in wanted:
        continue
    try:
      yield parse_meta(_loads(path, lineno, line, allow_literal=True), path, lineno)
    except InputError as e:
      skips.bad(e)
