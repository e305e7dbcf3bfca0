"""Synthetic Amazon categories in the exact 2018 ("amazon_v2") file format, of any size.

The data come from a latent preference model. Users and items have latent vectors and biases;
an item's brand shifts its bias. A review's score is
  user bias + item bias + scale * <user vector, item vector> / sqrt(dim) + noise,
and its star rating is the score quantised with thresholds calibrated (on a seeded sample) to a
target rating skew like real Amazon data. Item metadata words (title, features, description,
price) and review text (praise or complaint about the item's attribute poles, sentiment of the
star rating) are derived from the same latent factors, so ratings are learnable from a user's
history plus item metadata.

Generation is streamed in blocks of users with vectorised numpy draws: memory stays constant in
the number of reviews (only per-item arrays are held), and compression runs in a writer thread.
Each block of users has its own random stream, so the output depends only on the configuration
(never on batching), and a seed gives byte-identical files. Every record is labelled synthetic:
`"synthetic": true`, reviewer names `synthetic-user-N`, IDs `SYNU...`, ASINs `SYN...`, titles
prefixed `[SYNTHETIC]`; a README.txt and synth_manifest.json in the output directory say so too.
"""
from __future__ import annotations

import dataclasses
import datetime
import gzip
import hashlib
import json
import math
import os
import queue
import re
import threading
import time
from typing import Any, Callable, Iterator, Optional

import numpy as np
import orjson

from recsaver_t5x.data import synth_vocab
from recsaver_t5x.errors import UserFacingError

# Users per random stream block: the output never depends on how work is batched.
BLOCK_USERS = 4096
BLOCK_ITEMS = 8192
DEFAULT_SKEW = (0.08, 0.05, 0.09, 0.20, 0.58)  # P(1..5 stars), roughly Amazon-wide.
MAX_ITEMS = 10_000_000  # ASINs are "SYN" + 7 digits (10 characters, as real ASINs).
MANIFEST = "synth_manifest.json"
README = "README.txt"

_DAY0 = datetime.date(2000, 1, 1)
_DAY1 = datetime.date(2018, 9, 30)
_EPOCH = datetime.date(1970, 1, 1)
_CALIBRATION_SAMPLES = 200_000
# Biases carry about two thirds of the signal (a user/item average baseline beats a constant
# by ~20% RMSE); the interaction, visible only through metadata words and review text, the rest.
_USER_BIAS_SD = 0.8
_ITEM_BIAS_SD = 0.5
_BRAND_BIAS_SD = 0.4
_INTERACTION_SCALE = 0.7
_MEAN_GAP_DAYS = 45
_MAX_GAP_DAYS = 200
# Shares of optional fields and missing values, close to the 2018 files.
_P_VOTE, _P_VERIFIED, _P_STYLE = 0.12, 0.88, 0.85
_P_NO_TEXT, _P_NO_SUMMARY = 0.001, 0.001
_P_AUTO_SUMMARY = 0.35  # "Five Stars"-style summaries are common in the real files.
_P_NO_BRAND, _P_NO_DESCRIPTION, _P_NO_PRICE = 0.03, 0.10, 0.20
_STREAMS = {"items": 0, "counts": 1, "reviews": 2, "meta": 3, "calibration": 4}


@dataclasses.dataclass(frozen=True)
class SynthConfig:
  """What to generate; together with the code version it fully determines the output bytes."""

  category: str = "Synthetic_Goods"
  n_users: int = 1000
  n_items: int = 200
  min_reviews: int = 5
  max_reviews: int = 20
  # P(count = min + k) is proportional to decay**k: most users near min, as in 5-core files.
  reviews_decay: float = 0.7
  seed: int = 0
  rating_skew: tuple[float, ...] = DEFAULT_SKEW
  noise: float = 0.5
  popularity_exponent: float = 0.8
  # Share of reviews written twice, byte-identical (the 2018 files repeat reviews of variants).
  duplicate_rate: float = 0.0
  gzip_level: int = 1

  def validate(self) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_]*", self.category):
      raise UserFacingError(f"category {self.category!r}: use letters, digits and '_' only")
    if self.n_users < 1:
      raise UserFacingError(f"--users must be >= 1, got {self.n_users}")
    if not 1 <= self.min_reviews <= self.max_reviews:
      raise UserFacingError(
          f"reviews per user: need 1 <= min <= max, got {self.min_reviews}-{self.max_reviews}")
    if not 2 * self.max_reviews <= self.n_items <= MAX_ITEMS:
      raise UserFacingError(f"--items must be in [2 * max reviews per user, {MAX_ITEMS:,}] "
                            f"= [{2 * self.max_reviews}, {MAX_ITEMS:,}], got {self.n_items}")
    if not 0 < self.reviews_decay <= 1:
      raise UserFacingError(f"reviews decay must be in (0, 1], got {self.reviews_decay}")
    skew = np.asarray(self.rating_skew, dtype=float)
    if not 2 <= skew.size <= 10 or skew.ndim != 1 or (skew <= 0).any() or abs(skew.sum() - 1) > 1e-6:
      raise UserFacingError("rating skew needs 2..10 positive shares summing to 1 (ratings 1..n), "
                            f"got {self.rating_skew}")
    if not 0 <= self.duplicate_rate < 1:
      raise UserFacingError(f"duplicate rate must be in [0, 1), got {self.duplicate_rate}")
    if not 0 <= self.gzip_level <= 9:
      raise UserFacingError(f"gzip level must be 0..9, got {self.gzip_level}")
    if self.noise < 0 or self.popularity_exponent < 0:
      raise UserFacingError("noise and popularity exponent must be >= 0")

  @property
  def n_ratings(self) -> int:
    """Ratings are 1..n_ratings (5 by default; e.g. 10 for an IMDB-like scale)."""
    return len(self.rating_skew)

  @property
  def reviews_file(self) -> str:
    return f"{self.category}_5.json.gz"

  @property
  def meta_file(self) -> str:
    return f"meta_{self.category}.json.gz"

  def to_dict(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["rating_skew"] = list(self.rating_skew)
    return d


@dataclasses.dataclass(frozen=True)
class SynthSummary:
  """What was written (also the body of synth_manifest.json)."""

  config: dict[str, Any]
  n_users: int
  n_items: int
  n_reviews: int
  n_lines: int
  rating_counts: dict[str, int]
  thresholds: list[float]
  files: dict[str, dict[str, Any]]
  seconds: float
  reused: bool = False

  def to_dict(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    del d["reused"]
    return {"synthetic": True, "generator": "recsaver synth", **d}


@dataclasses.dataclass(frozen=True)
class ItemTable:
  """Latent truth of every item; O(items) memory, independent of the number of reviews."""

  factors: np.ndarray  # (n_items, dim) float32
  bias: np.ndarray  # (n_items,) float32, includes the brand's bias
  brand: np.ndarray  # (n_items,) brand index
  noun: np.ndarray  # (n_items,) theme noun index
  popularity_rank: np.ndarray  # (n_items,) 1 = most reviewed
  cdf: np.ndarray  # (n_items,) cumulative popularity, last entry 1
  quality_cuts: np.ndarray  # bias terciles -> budget / everyday / premium
  bias_mean: float
  bias_sd: float


def _rng(cfg: SynthConfig, stream: str, block: int = 0) -> np.random.Generator:
  return np.random.default_rng([cfg.seed, _STREAMS[stream], block])


def make_items(cfg: SynthConfig) -> ItemTable:
  """Draws item factors, biases (brand + own), nouns and popularity."""
  theme = synth_vocab.theme_for(cfg.category)
  rng = _rng(cfg, "items")
  n, dim = cfg.n_items, len(theme.axes)
  n_brands = max(3, n // 25)
  brand_bias = rng.normal(0.0, _BRAND_BIAS_SD, n_brands)
  brand = rng.integers(0, n_brands, n)
  bias = (brand_bias[brand] + rng.normal(0.0, _ITEM_BIAS_SD, n)).astype(np.float32)
  factors = rng.standard_normal((n, dim), dtype=np.float32)
  rank = rng.permutation(n) + 1
  cdf = np.cumsum(rank.astype(np.float64) ** -cfg.popularity_exponent)
  cdf /= cdf[-1]
  noun = rng.integers(0, len(theme.nouns), n)
  cuts = np.quantile(bias, [1 / 3, 2 / 3])
  return ItemTable(factors, bias, brand, noun, rank, cdf, cuts, float(bias.mean()),
                   float(bias.std()) + 1e-9)


def _sample_items(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
  idx = np.searchsorted(cdf, rng.random(n), side="right")
  return np.minimum(idx, len(cdf) - 1)


def _distinct_items(rng: np.random.Generator, cdf: np.ndarray, owner: np.ndarray) -> np.ndarray:
  """Popularity-sampled items with no user reviewing the same item twice."""
  n_items = len(cdf)
  items = _sample_items(rng, cdf, len(owner))
  for round_ in range(64):
    key = owner.astype(np.int64) * n_items + items
    order = np.argsort(key, kind="stable")
    dup = order[1:][key[order][1:] == key[order][:-1]]
    if not len(dup):
      return items
    # Resample clashes; after a few rounds uniformly, which always converges quickly.
    items[dup] = (_sample_items(rng, cdf, len(dup)) if round_ < 8
                  else rng.integers(0, n_items, len(dup)))
  raise UserFacingError("could not draw distinct items per user; use more --items")


def _scores(cfg: SynthConfig, items: ItemTable, user_vec: np.ndarray, user_bias: np.ndarray,
            iid: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Latent score per (user row, item) pair and the per-dimension interaction terms."""
  dim = items.factors.shape[1]
  contrib = user_vec * items.factors[iid]
  score = (user_bias + items.bias[iid] + contrib.sum(axis=1) * (_INTERACTION_SCALE / math.sqrt(dim))
           + rng.normal(0.0, cfg.noise, len(iid)))
  return score, contrib


def calibrate_thresholds(cfg: SynthConfig, items: ItemTable) -> np.ndarray:
  """Score cut points that give the target rating skew (on a seeded sample of reviews)."""
  rng = _rng(cfg, "calibration")
  m, dim = _CALIBRATION_SAMPLES, items.factors.shape[1]
  user_vec = rng.standard_normal((m, dim), dtype=np.float32)
  user_bias = rng.normal(0.0, _USER_BIAS_SD, m)
  iid = _sample_items(rng, items.cdf, m)
  score, _ = _scores(cfg, items, user_vec, user_bias, iid, rng)
  return np.quantile(score, np.cumsum(cfg.rating_skew)[:-1])


def n_blocks(cfg: SynthConfig) -> int:
  return -(-cfg.n_users // BLOCK_USERS)


def review_counts(cfg: SynthConfig, block: int) -> np.ndarray:
  """Reviews per user of one block (truncated geometric on [min, max])."""
  n = min(BLOCK_USERS, cfg.n_users - block * BLOCK_USERS)
  k = np.arange(cfg.max_reviews - cfg.min_reviews + 1)
  cdf = np.cumsum(cfg.reviews_decay ** k.astype(float))
  cdf /= cdf[-1]
  u = _rng(cfg, "counts", block).random(n)
  return cfg.min_reviews + np.minimum(np.searchsorted(cdf, u, side="right"), len(k) - 1)


def total_reviews(cfg: SynthConfig) -> int:
  return int(sum(int(review_counts(cfg, b).sum()) for b in range(n_blocks(cfg))))


class _Text:
  """Flattened phrase tables, so per-review text is a few list lookups."""

  def __init__(self, theme: synth_vocab.Theme):
    self.n_variants = len(synth_vocab.PRAISE)
    # sentence[((dim * 2 + pole) * 2 + praise) * n_variants + variant], each with a leading space.
    self.sentence = []
    for neg, pos in theme.axes:
      for word in (neg, pos):
        for bank in (synth_vocab.COMPLAINT, synth_vocab.PRAISE):
          self.sentence += [" " + s.format(w=word) for s in bank]
    self.sentence.append("")  # index -1: no second sentence
    self.opener = [list(x) for x in synth_vocab.OPENERS]
    self.closer = [[" " + c for c in x] for x in synth_vocab.CLOSERS]
    self.summary = [list(x) for x in synth_vocab.SUMMARIES]


def _review_time_table() -> list[str]:
  """'MM D, YYYY' (month zero-padded, day not: "09 1, 2016") for each day in range."""
  out = []
  day = _DAY0
  while day <= _DAY1:
    out.append(f"{day.month:02d} {day.day}, {day.year}")
    day += datetime.timedelta(days=1)
  return out


def review_block(cfg: SynthConfig, theme: synth_vocab.Theme, items: ItemTable,
                 thresholds: np.ndarray, text: _Text, times: list[str],
                 block: int) -> tuple[bytes, np.ndarray, int]:
  """One block of users: their reviews as JSON lines, star counts (1..5) and line count."""
  counts = review_counts(cfg, block)
  nb, n, dim = len(counts), int(counts.sum()), len(theme.axes)
  rng = _rng(cfg, "reviews", block)
  user_vec = rng.standard_normal((nb, dim), dtype=np.float32)
  user_bias = rng.normal(0.0, _USER_BIAS_SD, nb)
  owner = np.repeat(np.arange(nb), counts)
  iid = _distinct_items(rng, items.cdf, owner)
  score, contrib = _scores(cfg, items, user_vec[owner], user_bias[owner], iid, rng)
  rating = np.searchsorted(thresholds, score) + 1

  # Chronology: each user's reviews at least a day apart, inside [2000-01-01, 2018-09-30].
  starts = np.cumsum(counts) - counts
  gaps = 1 + np.minimum(rng.geometric(1.0 / _MEAN_GAP_DAYS, n), _MAX_GAP_DAYS)
  gaps[starts] = 0
  cum = np.cumsum(gaps)
  within = cum - np.repeat(cum[starts], counts)
  span = within[starts + counts - 1]
  n_days = len(times) - 1
  first = np.floor(rng.random(nb) * np.maximum(n_days - span, 0)).astype(np.int64)
  day = np.minimum(first[owner] + within, n_days)

  # Text: the two attribute axes that weigh most in this user's score for this item.
  top = np.argsort(-np.abs(contrib), axis=1)[:, :2]
  rows = np.arange(n)
  sent = []
  for j in range(2):
    k = top[:, j]
    pole = (items.factors[iid, k] > 0).astype(np.int64)
    praise = (contrib[rows, k] > 0).astype(np.int64)
    sent.append(((k * 2 + pole) * 2 + praise) * text.n_variants
                + rng.integers(0, text.n_variants, n))
  sent[1] = np.where(rng.random(n) < 0.6, sent[1], -1)
  opener = rng.integers(0, len(text.opener[0]), n)
  closer = rng.integers(0, len(text.closer[0]), n)
  summary = np.where(rng.random(n) < _P_AUTO_SUMMARY, 0,
                     rng.integers(1, len(text.summary[0]), n))
  has_text = rng.random(n) >= _P_NO_TEXT
  has_summary = rng.random(n) >= _P_NO_SUMMARY
  vote = np.where(rng.random(n) < _P_VOTE, 1 + rng.geometric(0.15, n), 0)
  verified = rng.random(n) < _P_VERIFIED
  style = np.where(rng.random(n) < _P_STYLE, rng.integers(0, len(theme.style_values), n), -1)
  dup = rng.random(n) < cfg.duplicate_rate
  order = rng.permutation(n)  # files are not grouped by user; chronology is in the timestamps

  uid0 = block * BLOCK_USERS
  day0 = (_DAY0 - _EPOCH).days
  reviewer_id = [f"SYNU{uid0 + u:010d}" for u in range(nb)]
  reviewer_name = [f"synthetic-user-{uid0 + u}" for u in range(nb)]
  cols = [x.tolist() for x in (order, owner, iid, rating, day, sent[0], sent[1], opener, closer,
                                summary, has_text, has_summary, vote, verified, style, dup)]
  n_r = cfg.n_ratings
  stars = [None] + [float(k) for k in range(1, n_r + 1)]
  # Review phrases exist per 5-star sentiment; other scales use the nearest of the five.
  bank = [None] + [int(round((k - 1) * 4 / (n_r - 1))) for k in range(1, n_r + 1)]
  style_key, style_values = theme.style_key, theme.style_values
  lines = []
  dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
  (_, owner_l, iid_l, rating_l, day_l, s0_l, s1_l, op_l, cl_l, su_l, ht_l, hs_l, vote_l, ver_l,
   style_l, dup_l) = cols
  for j in cols[0]:
    r = rating_l[j]
    d: dict[str, Any] = {"overall": stars[r]}
    if vote_l[j]:
      d["vote"] = f"{vote_l[j]:,}"
    d["verified"] = ver_l[j]
    d["reviewTime"] = times[day_l[j]]
    u = owner_l[j]
    d["reviewerID"] = reviewer_id[u]
    d["asin"] = f"SYN{iid_l[j]:07d}"
    if style_l[j] >= 0:
      d["style"] = {style_key: style_values[style_l[j]]}
    d["reviewerName"] = reviewer_name[u]
    if ht_l[j]:
      d["reviewText"] = (text.opener[bank[r]][op_l[j]] + text.sentence[s0_l[j]]
                         + text.sentence[s1_l[j]] + text.closer[bank[r]][cl_l[j]])
    if hs_l[j]:
      d["summary"] = text.summary[bank[r]][su_l[j]]
    d["unixReviewTime"] = (day0 + day_l[j]) * 86400
    d["synthetic"] = True
    line = dumps(d, option=opt)
    lines.append(line)
    if dup_l[j]:
      lines.append(line)
  return b"".join(lines), np.bincount(rating, minlength=n_r + 1)[1:], len(lines)


def _brand_name(b: int) -> str:
  syl = synth_vocab.BRAND_SYLLABLES
  # An odd multiplier permutes 0..4095, so the first 4096 brands get distinct names.
  h = (b * 2654435761) % 4096
  name = (syl[h % 16] + syl[(h // 16) % 16] + syl[h // 256]).capitalize()
  return name if b < 4096 else f"{name} {b // 4096 + 1}"


def meta_block(cfg: SynthConfig, theme: synth_vocab.Theme, items: ItemTable, block: int) -> bytes:
  """Metadata lines for items [block * BLOCK_ITEMS, ...) in the 2018 meta layout."""
  lo = block * BLOCK_ITEMS
  hi = min(lo + BLOCK_ITEMS, cfg.n_items)
  n = hi - lo
  rng = _rng(cfg, "meta", block)
  q = items.factors[lo:hi]
  by_strength = np.argsort(-np.abs(q), axis=1)
  pole = (q > 0)
  quality = np.searchsorted(items.quality_cuts, items.bias[lo:hi])
  z = (items.bias[lo:hi] - items.bias_mean) / items.bias_sd
  price = np.exp(2.6 + 0.6 * z + rng.normal(0.0, 0.35, n))
  has_price = rng.random(n) >= _P_NO_PRICE
  has_brand = rng.random(n) >= _P_NO_BRAND
  has_desc = rng.random(n) >= _P_NO_DESCRIPTION
  n_buy = rng.integers(0, 7, n)
  n_view = rng.integers(0, 7, n)
  related = _sample_items(rng, items.cdf, 12 * n).reshape(n, 12).tolist()
  main_cat = cfg.category.replace("_", " ")
  lines = []
  for j in range(n):
    i = lo + j
    ks = by_strength[j].tolist()
    words = [theme.axes[k][int(pole[j, k])] for k in ks]
    noun = theme.nouns[items.noun[i]]
    brand = _brand_name(int(items.brand[i]))
    title = f"[SYNTHETIC] {brand} {words[0].title()} {words[1].title()} {noun}"
    features = [f"{w.capitalize()} {theme.feature_suffix}" for k, w in zip(ks, words)
                if abs(q[j, k]) > 0.4]
    desc = ([f"Synthetic product for testing, not a real listing. This "
             f"{synth_vocab.QUALITY_WORDS[quality[j]]} {noun.lower()} from {brand} is "
             f"{words[0]}, {words[1]} and {words[2]}."] if has_desc[j] else [])
    rel = [f"SYN{x:07d}" for x in related[j] if x != i]
    d = {
        "category": [main_cat, theme.subcategories[ks[0] % len(theme.subcategories)]],
        "tech1": "",
        "description": desc,
        "fit": "",
        "title": title,
        "also_buy": rel[:n_buy[j]],
        "tech2": "",
        "brand": brand if has_brand[j] else "",
        "feature": features,
        "rank": f"{int(items.popularity_rank[i]):,} in {theme.rank_category} (",
        "also_view": rel[6:6 + n_view[j]],
        "main_cat": main_cat,
        "similar_item": "",
        "date": "",
        "price": f"${price[j]:,.2f}" if has_price[j] else "",
        "asin": f"SYN{i:07d}",
        "imageURL": [],
        "imageURLHighRes": [],
        "synthetic": True,
    }
    lines.append(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE))
  return b"".join(lines)


class _HashingFile:
  """File wrapper hashing what gzip writes (the compressed bytes)."""

  def __init__(self, f):
    self._f, self.sha256, self.size = f, hashlib.sha256(), 0

  def write(self, b) -> int:
    self.sha256.update(b)
    self.size += len(b)
    return self._f.write(b)

  def flush(self) -> None:
    self._f.flush()


class _GzipSink:
  """Compresses and writes in a background thread (zlib releases the GIL) via a bounded queue."""

  def __init__(self, path: str, level: int):
    self.path = path
    self._raw = open(path, "wb")
    self._hashing = _HashingFile(self._raw)
    # mtime=0 and no file name in the header: the bytes depend only on the content.
    self._gz = gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=self._hashing,
                             mtime=0)
    self._queue: queue.Queue = queue.Queue(maxsize=2)
    self._error: Optional[BaseException] = None
    self._thread = threading.Thread(target=self._run, daemon=True)
    self._thread.start()

  def _run(self) -> None:
    while (chunk := self._queue.get()) is not None:
      if self._error is None:
        try:
          self._gz.write(chunk)
        except BaseException as e:  # pylint: disable=broad-except
          self._error = e

  def write(self, chunk: bytes) -> None:
    if self._error is not None:
      raise self._error
    self._queue.put(chunk)

  def close(self) -> dict[str, Any]:
    self._queue.put(None)
    self._thread.join()
    if self._error is not None:
      raise self._error
    self._gz.close()
    self._raw.close()
    return {"sha256": self._hashing.sha256.hexdigest(), "bytes": self._hashing.size}

  def abort(self) -> None:
    self._queue.put(None)
    self._thread.join()
    self._raw.close()


def _readme(cfg: SynthConfig, n_reviews: int) -> str:
  return (
      "SYNTHETIC DATA - NOT REAL AMAZON REVIEWS\n\n"
      f"Generated by `recsaver synth` (recsaver-t5x) with seed {cfg.seed}.\n"
      f"Files: {cfg.reviews_file} ({n_reviews:,} reviews) and {cfg.meta_file} "
      f"({cfg.n_items:,} items), in the Amazon 2018 (amazon_v2) JSON-lines layout.\n"
      "Every record carries \"synthetic\": true; reviewer names are synthetic-user-N, reviewer IDs\n"
      "start with SYNU, ASINs with SYN, and item titles with [SYNTHETIC].\n"
      "Ratings come from a latent preference model (user/item vectors and biases, calibrated to\n"
      "a target rating skew); text and metadata come from templates keyed to the same latents.\n"
      "Use for scale benchmarks and tests only; never present results on it as real data.\n\n"
      "Parameters:\n" + json.dumps(cfg.to_dict(), indent=2) + "\n")


def _reuse(cfg: SynthConfig, out_dir: str, force: bool) -> Optional[SynthSummary]:
  """The existing output when it was made with this config (idempotent reruns)."""
  path = os.path.join(out_dir, MANIFEST)
  if force or not os.path.exists(path):
    return None
  with open(path, "rb") as f:
    old = orjson.loads(f.read())
  if old.get("config") != cfg.to_dict():
    raise UserFacingError(f"{path}: {out_dir} holds synthetic data made with other parameters; "
                          "pass --force to overwrite or choose another --out")
  for name, info in old["files"].items():
    p = os.path.join(out_dir, name)
    if not os.path.exists(p) or os.path.getsize(p) != info["bytes"]:
      return None
  old.pop("synthetic", None)
  old.pop("generator", None)
  return SynthSummary(**old, reused=True)


def write_category(cfg: SynthConfig, out_dir: str, *, progress: bool = True,
                   force: bool = False,
                   on_block: Optional[Callable[[int], None]] = None) -> SynthSummary:
  """Writes reviews, metadata, README.txt and synth_manifest.json into `out_dir`.

  Streams block by block (constant memory in the number of reviews). Files are written under a
  temporary name and renamed at the end; the manifest is written last, so a rerun with the same
  config finds complete output and returns it without regenerating.
  """
  from tqdm import tqdm  # pylint: disable=import-outside-toplevel

  cfg.validate()
  os.makedirs(out_dir, exist_ok=True)
  reused = _reuse(cfg, out_dir, force)
  if reused is not None:
    return reused
  manifest_path = os.path.join(out_dir, MANIFEST)
  if os.path.exists(manifest_path):
    os.remove(manifest_path)
  t0 = time.perf_counter()
  theme = synth_vocab.theme_for(cfg.category)
  items = make_items(cfg)
  thresholds = calibrate_thresholds(cfg, items)
  files = {}

  meta_path = os.path.join(out_dir, cfg.meta_file)
  sink = _GzipSink(meta_path + ".partial", cfg.gzip_level)
  try:
    for b in range(-(-cfg.n_items // BLOCK_ITEMS)):
      sink.write(meta_block(cfg, theme, items, b))
    files[cfg.meta_file] = sink.close()
  except BaseException:
    sink.abort()
    raise
  os.replace(meta_path + ".partial", meta_path)

  n_reviews = total_reviews(cfg)
  text, times = _Text(theme), _review_time_table()
  rating_counts = np.zeros(cfg.n_ratings, dtype=np.int64)
  n_lines = 0
  rev_path = os.path.join(out_dir, cfg.reviews_file)
  sink = _GzipSink(rev_path + ".partial", cfg.gzip_level)
  bar = tqdm(total=n_reviews, unit="review", unit_scale=True, disable=not progress,
             desc=f"synth {cfg.category}")
  try:
    for b in range(n_blocks(cfg)):
      data, stars, lines = review_block(cfg, theme, items, thresholds, text, times, b)
      sink.write(data)
      rating_counts += stars
      n_lines += lines
      bar.update(int(stars.sum()))
      if on_block is not None:
        on_block(b)
    files[cfg.reviews_file] = sink.close()
  except BaseException:
    sink.abort()
    raise
  finally:
    bar.close()
  os.replace(rev_path + ".partial", rev_path)

  summary = SynthSummary(
      config=cfg.to_dict(), n_users=cfg.n_users, n_items=cfg.n_items, n_reviews=n_reviews,
      n_lines=n_lines, rating_counts={str(r + 1): int(c) for r, c in enumerate(rating_counts)},
      thresholds=[float(t) for t in thresholds], files=files,
      seconds=round(time.perf_counter() - t0, 3))
  with open(os.path.join(out_dir, README), "w", encoding="utf-8") as f:
    f.write(_readme(cfg, n_reviews))
  with open(manifest_path + ".partial", "wb") as f:
    f.write(orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2))
  os.replace(manifest_path + ".partial", manifest_path)
  return summary


def iter_records(path: str) -> Iterator[dict[str, Any]]:
  """Reads back a synthetic (or any 2018 JSON-lines) gzip file; for tests and inspection."""
  with gzip.open(path, "rb") as f:
    for line in f:
      yield orjson.loads(line)
