"""Streaming readers for Amazon review dumps: 2014, 2018 ("v2") and 2023 layouts.

Every record is validated where it is read, so a bad line ends in one error naming the file, the
line number and the field - or, with `skip_bad=True`, in a counted skip reported at the end.
Files are read line by line (gzip or plain, detected by magic bytes): memory does not grow with
file size. The layout is detected per file from its first record (`review_format`,
`meta_format`); each later record must then have that layout's fields.

Layouts (reviews): 2014/2018 `reviewerID, asin, overall, unixReviewTime (s), reviewText,
summary`; 2023 `user_id, parent_asin (the item; asin when absent), rating, timestamp (ms), text,
title`. Timestamps are kept in milliseconds internally (`RawReview.ts_ms`).

Metadata of the wrong type (decided here, counted in `FieldStats`): a list of strings where a
string belongs is joined ("; " for titles and brands, " " for description paragraphs), a number
is written as text; a dict (or anything else) is rejected: the field is recorded as missing and
counted. Text with markup or entities is cleaned with lxml (`html_text`); a title that is only
markup is missing.
"""
from __future__ import annotations

import ast
import collections
import dataclasses
import gzip
import math
import re
import zlib
from typing import Any, Iterator, NamedTuple, Optional

import orjson

from recsaver_t5x.data import html_text
from recsaver_t5x.data.records import Item
from recsaver_t5x.errors import InputError
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale

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


@dataclasses.dataclass
class FieldStats:
  """What was changed in text fields while reading: reported in the manifest.

  cleaned: values whose markup/entities were removed; markup_only: values that were nothing but
  markup (now missing); rejected: values of the wrong type (a dict, ...), now missing; joined:
  lists of strings joined into one string.
  """

  cleaned: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  markup_only: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  rejected: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  joined: collections.Counter = dataclasses.field(default_factory=collections.Counter)

  def text(self, field: str, value: Optional[str]) -> Optional[str]:
    """`value` cleaned of markup (None when empty or only markup), counted under `field`."""
    plain, changed = html_text.clean(value)
    if changed:
      self.cleaned[field] += 1
      if plain is None:
        self.markup_only[field] += 1
    return plain

  def merge(self, other: "FieldStats") -> None:
    for name in ("cleaned", "markup_only", "rejected", "joined"):
      getattr(self, name).update(getattr(other, name))

  def to_dict(self) -> dict:
    return {k: dict(sorted(getattr(self, k).items()))
            for k in ("cleaned", "markup_only", "rejected", "joined")}


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


def parse_json_object(path: str, lineno: int, line: bytes) -> dict:
  """One JSON-object line of a review file, or an InputError naming the file and line."""
  return _loads(path, lineno, line, allow_literal=False)


# Plausible review times: not before the epoch, not after "now" (plus a day for time zones).
_DAY_MS = 86_400_000


def plausible_ms_range(now_s: Optional[float] = None) -> tuple[int, int]:
  """[low, high] of plausible review timestamps in milliseconds."""
  import time  # pylint: disable=import-outside-toplevel
  return 0, int((time.time() if now_s is None else now_s) * 1000) + _DAY_MS


class RawReview(NamedTuple):
  """One validated review line (a NamedTuple: millions are built per category)."""

  user_id: str
  asin: str
  rating: int
  timestamp: int  # seconds since the epoch (floor of ts_ms / 1000)
  review: Optional[str]
  summary: Optional[str]
  line: int
  ts_ms: int


@dataclasses.dataclass(frozen=True)
class ReviewLayout:
  """Field names of one review layout."""

  name: str
  user: str
  items: tuple[str, ...]  # the first present one is the item id
  rating: str
  time: str
  time_unit_ms: int  # 1000 when the file stores seconds, 1 when milliseconds
  text: str
  summary: str


REVIEW_LAYOUTS = {
    "2014/2018": ReviewLayout("2014/2018", "reviewerID", ("asin",), "overall", "unixReviewTime",
                              1000, "reviewText", "summary"),
    "2023": ReviewLayout("2023", "user_id", ("parent_asin", "asin"), "rating", "timestamp", 1,
                         "text", "title"),
}


def review_format(obj: dict) -> str:
  """The layout of a review record: '2023' (user_id/timestamp) or '2014/2018' (reviewerID)."""
  if "user_id" in obj and "reviewerID" not in obj:
    return "2023"
  return "2014/2018"


class _Uncleaned(FieldStats):
  """FieldStats for callers that keep review text as written (no markup cleaning, no counts)."""

  def text(self, field: str, value: Optional[str]) -> Optional[str]:
    return value if value and value.strip() else None


def parse_review(obj: dict, path: str, lineno: int, layout: ReviewLayout = REVIEW_LAYOUTS["2014/2018"],
                 fields: Optional[FieldStats] = None, scale: RatingScale = DEFAULT_SCALE) -> RawReview:
  """Validates one review record of `layout`."""
  user = obj.get(layout.user)
  if not isinstance(user, str) or not user:
    raise InputError(path, "missing or not a non-empty string", line=lineno, field=layout.user)
  item_key = next((k for k in layout.items if obj.get(k) is not None), layout.items[0])
  item = obj.get(item_key)
  if not isinstance(item, str) or not item:
    raise InputError(path, "missing or not a non-empty string", line=lineno, field=item_key)
  if layout.rating not in obj:
    raise InputError(path, "missing (the rating)", line=lineno, field=layout.rating)
  overall = obj[layout.rating]
  if isinstance(overall, str):
    try:
      overall = float(overall)
    except ValueError:
      raise InputError(path, f"not a number: {obj[layout.rating]!r}", line=lineno,
                       field=layout.rating) from None
  if isinstance(overall, bool) or not isinstance(overall, (int, float)) or not math.isfinite(overall):
    raise InputError(path, f"not a number: {obj[layout.rating]!r}", line=lineno, field=layout.rating)
  if overall not in scale.values:
    raise InputError(path, f"rating {overall!r} outside {scale.low}..{scale.high}", line=lineno,
                     field=layout.rating)
  ts = obj.get(layout.time)
  if isinstance(ts, str) and ts.lstrip("-").isdigit():
    ts = int(ts)
  if not isinstance(ts, int) or isinstance(ts, bool):
    raise InputError(path, "missing or not an integer", line=lineno, field=layout.time)
  ts_ms = ts * layout.time_unit_ms
  # The metadata rule for text of the wrong type (a list joined, a dict rejected; counted), so that
  # a list never becomes its Python repr "['a', 'b']".
  stats = fields if fields is not None else _Uncleaned()
  review = _string(obj.get(layout.text), "review", stats, " ")
  summary = _string(obj.get(layout.summary), "summary", stats, "; ")
  return RawReview(user, item, int(overall), ts_ms // 1000, review, summary, lineno, ts_ms)


def check_time(r: RawReview, path: str, bounds: tuple[int, int]) -> Optional[InputError]:
  """An error describing an implausible timestamp (negative or in the future), or None."""
  low, high = bounds
  if low <= r.ts_ms <= high:
    return None
  import datetime  # pylint: disable=import-outside-toplevel
  when = "negative" if r.ts_ms < 0 else "in the future"
  try:
    day = datetime.datetime.fromtimestamp(r.ts_ms / 1000, datetime.timezone.utc).date().isoformat()
    when += f" ({day})"
  except (OverflowError, OSError, ValueError):
    pass
  return InputError(path, f"implausible timestamp {r.ts_ms} ms: {when}", line=r.line,
                    field="timestamp")


def iter_reviews(path: str, skips: SkipCounter, fields: Optional[FieldStats] = None,
                 layout: Optional[str] = None,
                 scale: RatingScale = DEFAULT_SCALE) -> Iterator[RawReview]:
  """Yields validated reviews of one file; bad records raise or are counted in `skips`.

  The layout is detected from the first record unless `layout` names one.
  """
  chosen = REVIEW_LAYOUTS[layout] if layout else None
  fields = fields if fields is not None else _Uncleaned()  # one per file, not one per record
  for lineno, line in iter_lines(path):
    try:
      obj = _loads(path, lineno, line, allow_literal=False)
      if chosen is None:
        chosen = REVIEW_LAYOUTS[review_format(obj)]
      yield parse_review(obj, path, lineno, chosen, fields, scale)
    except InputError as e:
      skips.bad(e)


def detect_review_format(path: str) -> str:
  """The review layout of a file, from its first parseable record ('2014/2018' if none)."""
  for lineno, line in iter_lines(path):
    try:
      return review_format(_loads(path, lineno, line, allow_literal=False))
    except InputError:
      continue
  return "2014/2018"


# ------------------------------------------------------------------ metadata

def _string(v: Any, field: str, fields: FieldStats, sep: str) -> Optional[str]:
  """A text field: strings kept, numbers written, lists of strings joined, anything else rejected."""
  if v is None or v == "":
    return None
  if isinstance(v, str):
    s = v
  elif isinstance(v, (int, float)) and not isinstance(v, bool):
    s = str(v)
  elif isinstance(v, list) and all(isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                   for x in v):
    parts = [p for p in (fields.text(field, str(x)) for x in v) if p]
    if len(v) > 1:
      fields.joined[field] += 1
    return sep.join(parts) or None
  else:
    fields.rejected[field] += 1
    return None
  return fields.text(field, s)


def _categories(obj: dict, fields: FieldStats) -> Optional[tuple[str, ...]]:
  # 2018/2023: "category"/"categories": [path elements]; 2014: "categories": [[path], [path], ...].
  raw = obj.get("category", obj.get("categories"))
  if not raw:
    return None
  if not isinstance(raw, list):
    if isinstance(raw, str):
      raw = [raw]
    else:
      fields.rejected["categories"] += 1
      return None
  flat: list[str] = []
  for c in raw:
    for name in (c if isinstance(c, list) else [c]):
      if isinstance(name, (dict, list)):
        fields.rejected["categories"] += 1
        return None
      name = fields.text("categories", str(name).strip()) if name is not None else None
      if name and name not in flat:
        flat.append(name)
  return tuple(flat) or None


def _price(v: Any, fields: FieldStats) -> Optional[str]:
  if v is None or v == "" or v == "None":  # 2023 writes a missing price as "None"
    return None
  if isinstance(v, (int, float)) and not isinstance(v, bool):  # 2014 and 2023 store a number.
    return f"${v:.2f}"
  if isinstance(v, str):
    return fields.text("price", v)
  fields.rejected["price"] += 1
  return None


def meta_format(obj: dict) -> str:
  """'2023' (parent_asin, store, features), else '2014/2018' (asin)."""
  if "parent_asin" in obj and "asin" not in obj:
    return "2023"
  return "2014/2018"


def parse_meta(obj: dict, path: str, lineno: int, fields: Optional[FieldStats] = None) -> Item:
  """Validates one metadata record of any layout; absent (or rejected) fields stay None."""
  fields = fields if fields is not None else FieldStats()
  key = "asin" if "asin" in obj or "parent_asin" not in obj else "parent_asin"
  asin = obj.get(key)
  if not isinstance(asin, str) or not asin:
    raise InputError(path, "missing or not a non-empty string", line=lineno, field=key)
  description = _string(obj.get("description"), "description", fields, " ")
  if description is None and obj.get("features"):  # 2023 often has features, no description
    description = _string(obj.get("features"), "description", fields, " ")
  return Item(asin=asin, title=_string(obj.get("title"), "title", fields, "; "),
              brand=_string(obj.get("brand", obj.get("store")), "brand", fields, "; "),
              categories=_categories(obj, fields), description=description,
              price=_price(obj.get("price"), fields))


_LITERAL_ASIN = re.compile(rb"""['"]asin['"]\s*:\s*['"]([^'"]+)['"]""")


def iter_meta(path: str, skips: SkipCounter, wanted: Optional[set[str]] = None,
              fields: Optional[FieldStats] = None) -> Iterator[Item]:
  """Yields item metadata of a 2014 (Python literal), 2018 or 2023 (JSON) metadata file.

  With `wanted`, 2014 literal lines of other items are skipped before `ast.literal_eval` (which is
  ~50x slower than JSON parsing); JSON lines are always parsed and validated.
  """
  for lineno, line in iter_lines(path):
    if wanted is not None and line.lstrip()[:1] == b"{" and b"'asin'" in line[:400]:
      m = _LITERAL_ASIN.search(line)
      if m and m.group(1).decode("utf-8", "replace") not in wanted:
        continue
    try:
      yield parse_meta(_loads(path, lineno, line, allow_literal=True), path, lineno, fields)
    except InputError as e:
      skips.bad(e)


def iter_meta_rows(path: str, skips: SkipCounter, wanted: Optional[set[str]] = None
                   ) -> Iterator[tuple[Item, FieldStats]]:
  """As `iter_meta`, with each row's own `FieldStats` (so only the rows kept are counted)."""
  for lineno, line in iter_lines(path):
    if wanted is not None and line.lstrip()[:1] == b"{" and b"'asin'" in line[:400]:
      m = _LITERAL_ASIN.search(line)
      if m and m.group(1).decode("utf-8", "replace") not in wanted:
        continue
    fields = FieldStats()
    try:
      yield parse_meta(_loads(path, lineno, line, allow_literal=True), path, lineno, fields), fields
    except InputError as e:
      skips.bad(e)


def detect_meta_format(path: str) -> str:
  """'2014 (Python literals)', '2018' or '2023', from the first line of a metadata file."""
  for _, line in iter_lines(path):
    try:
      obj = orjson.loads(line)
    except orjson.JSONDecodeError:
      return "2014 (Python literals)"
    return meta_format(obj) if isinstance(obj, dict) else "2014/2018"
  return "2014/2018"
