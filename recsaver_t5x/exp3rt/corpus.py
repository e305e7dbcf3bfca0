"""Every review of a domain, with helpful votes: what profiles are built from.

Prepared examples carry only the target user's history; EXP3RT's item profiles also need other
users' reviews of the target item, and its "most helpful" criterion needs helpful votes, which
prepare does not keep. So the raw review files (the ones named in the prepared manifest) are read
once more here, validated record by record (one-line errors naming file, line and field), exact
duplicates dropped as prepare drops them, first occurrence kept.

Helpful votes by layout: 2014 `helpful: [helpful, total]` -> helpful[0]; 2018 `vote: "1,234"`;
2023 `helpful_vote`. Absent means 0.
"""
from __future__ import annotations

import bisect
import collections
import dataclasses
import os
from typing import Iterable, Optional, Sequence

from recsaver_t5x.data import readers
from recsaver_t5x.data.records import Item
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale


@dataclasses.dataclass(frozen=True)
class Review:
  """One review of the corpus. `review_id` is stable for the same files."""

  review_id: str
  user_id: str
  asin: str
  rating: int
  timestamp: int
  text: Optional[str]
  summary: Optional[str]
  helpful: int


@dataclasses.dataclass(frozen=True)
class Corpus:
  """Reviews by user and by item, each list in time order (ties: file order)."""

  by_user: dict[str, tuple[Review, ...]]
  by_item: dict[str, tuple[Review, ...]]
  items: dict[str, Item]
  duplicates_dropped: int = 0

  def review(self, review_id: str) -> Review:
    user = review_id.split("|", 1)[0]
    for r in self.by_user.get(user, ()):
      if r.review_id == review_id:
        return r
    raise KeyError(review_id)

  def item(self, asin: str) -> Item:
    return self.items.get(asin) or Item(asin=asin)

  def user_before(self, user_id: str, timestamp: int) -> tuple[Review, ...]:
    """The user's reviews strictly before `timestamp` (oldest first)."""
    rs = self.by_user.get(user_id, ())
    return rs[:bisect.bisect_left([r.timestamp for r in rs], timestamp)]

  def item_before(self, asin: str, timestamp: int, exclude_user: str) -> tuple[Review, ...]:
    """Other users' reviews of `asin` strictly before `timestamp` (oldest first)."""
    return tuple(r for r in self.by_item.get(asin, ())
                 if r.timestamp < timestamp and r.user_id != exclude_user)


def helpful_votes(obj: dict, path: str, lineno: int) -> int:
  """Helpful votes of a raw review record of any layout (see module docstring)."""
  if "helpful_vote" in obj:
    v = obj["helpful_vote"]
  elif "vote" in obj:
    v = obj["vote"]
    if isinstance(v, str):
      v = v.replace(",", "").strip() or "0"
      if not v.isdigit():
        raise InputError(path, f"not a vote count: {obj['vote']!r}", line=lineno, field="vote")
      v = int(v)
  elif "helpful" in obj:
    h = obj["helpful"]
    if not (isinstance(h, list) and len(h) == 2):
      raise InputError(path, f"expected [helpful, total], got {h!r}", line=lineno, field="helpful")
    v = h[0]
  else:
    return 0
  if isinstance(v, bool) or not isinstance(v, int) or v < 0:
    raise InputError(path, f"not a non-negative integer: {v!r}", line=lineno, field="helpful")
  return v


def load_corpus(reviews: Sequence[str], meta: Sequence[str] = (),
                scale: RatingScale = DEFAULT_SCALE) -> Corpus:
  """Reads review (and metadata) files into a Corpus."""
  seen: set = set()
  dropped = 0
  by_user: dict[str, list[Review]] = collections.defaultdict(list)
  ids: collections.Counter = collections.Counter()
  fields = readers.FieldStats()  # HTML cleaned as `recsaver prepare` cleans it
  for path in reviews:
    if not os.path.isfile(path):
      raise UserFacingError(f"{path}: no such review file")
    layout = readers.REVIEW_LAYOUTS[readers.detect_review_format(path)]
    for lineno, line in readers.iter_lines(path):
      obj = readers.parse_json_object(path, lineno, line)
      r = readers.parse_review(obj, path, lineno, layout, fields, scale)  # prepare's own rules
      user, asin, rating, ts, text, summary = r.user_id, r.asin, r.rating, r.timestamp, r.review, r.summary
      helpful = helpful_votes(obj, path, lineno)
      dup_key = (user, asin, ts, text)
      if dup_key in seen:
        dropped += 1
        continue
      seen.add(dup_key)
      base = f"{user}|{asin}|{ts}"
      ids[base] += 1
      rid = base if ids[base] == 1 else f"{base}|{ids[base]}"
      by_user[user].append(Review(rid, user, asin, rating, ts, text, summary, helpful))
  by_item: dict[str, list[Review]] = collections.defaultdict(list)
  out_user = {}
  for user, rs in by_user.items():
    rs.sort(key=lambda r: r.timestamp)  # stable: ties keep file order
    out_user[user] = tuple(rs)
    for r in rs:
      by_item[r.asin].append(r)
  items: dict[str, Item] = {}
  skips = readers.SkipCounter(skip_bad=False)
  for path in meta:
    for item in readers.iter_meta(path, skips, wanted=set(by_item)):
      items.setdefault(item.asin, item)  # first line per asin, as prepare
  return Corpus(out_user, {a: tuple(sorted(rs, key=lambda r: r.timestamp))
                           for a, rs in by_item.items()}, items, dropped)


def manifest_sources(prepared_dir: str) -> tuple[list[str], list[str], RatingScale]:
  """(review files, metadata files, rating scale) named by a prepared manifest."""
  from recsaver_t5x.data import io as data_io  # pylint: disable=import-outside-toplevel
  reviews, meta = data_io.manifest_sources(prepared_dir)
  return reviews, meta, data_io.rating_scale(prepared_dir)


def load_for(prepared_dir: str, scale: Optional[RatingScale] = None) -> tuple[Corpus, RatingScale]:
  """The corpus behind a prepared dataset and its rating scale (manifest, unless given)."""
  reviews, meta, manifest_scale = manifest_sources(prepared_dir)
  scale = scale or manifest_scale
  return load_corpus(reviews, meta, scale), scale


def iter_reviews(corpus: Corpus) -> Iterable[Review]:
  for rs in corpus.by_user.values():
    yield from rs
