"""Raw Amazon reviews -> label-balanced, user-disjoint rating-prediction examples.

Stages, each out-of-core:
  1. stream and validate every review line into Parquet (constant memory, line-level errors);
  2. DuckDB (spilling to disk under a memory limit) drops exact duplicates (user, item, time,
     text) and numbers each user's reviews chronologically: a review's position is its history size;
  3. balanced selection over the light (user, position, rating) candidate table, in NumPy;
  4. only the selected examples' histories and only their items' metadata are materialised.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from recsaver_t5x.data import io as data_io
from recsaver_t5x.data import readers
from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.data.sampling import balanced_split
from recsaver_t5x import paths
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.scale import RatingScale

# ts: milliseconds since the epoch for every layout (2014/2018 store seconds, 2023 milliseconds).
_SCHEMA = pa.schema([("user", pa.string()), ("asin", pa.string()), ("rating", pa.int8()),
                     ("ts", pa.int64()), ("review", pa.string()), ("summary", pa.string()),
                     ("src", pa.int16()), ("line", pa.int64())])


@dataclasses.dataclass(frozen=True)
class PrepareConfig:
  """What `recsaver prepare` builds; stored verbatim in the manifest."""

  domain: str
  reviews: tuple[str, ...]
  meta: tuple[str, ...] = ()
  train_per_label: int = 800
  test_per_label: int = 100
  min_history: int = 4
  max_history: int = 10
  seed: int = 0
  mode: str = "strict"
  skip_bad_records: bool = False
  max_examples_per_user: Optional[int] = None
  memory_limit: str = "2GB"
  batch_rows: int = 200_000
  ingest: str = "auto"  # "auto": Arrow's JSON reader, strict Python reader on failure; "strict"
  rating_scale: tuple[int, int, int] = (1, 5, 3)  # (low, high, positive_above): scale.RatingScale

  @property
  def scale(self) -> RatingScale:
    return RatingScale(*self.rating_scale)


def file_sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def _strict_file(path: str, src: int, writer: pq.ParquetWriter, cfg: PrepareConfig,
                 skips: readers.SkipCounter, fields: readers.FieldStats,
                 bounds: tuple[int, int], layout: str) -> tuple[int, int]:
  """The strict Python reader for one file: (reviews written, implausible timestamps)."""
  n = implausible = 0
  cols: dict[str, list] = {name: [] for name in _SCHEMA.names}

  def flush():
    if cols["user"]:
      writer.write_batch(pa.record_batch([pa.array(cols[k], type=_SCHEMA.field(k).type)
                                          for k in _SCHEMA.names], schema=_SCHEMA))
      for v in cols.values():
        v.clear()
  bar = tqdm(readers.iter_reviews(path, skips, fields, layout, cfg.scale), desc=f"read {os.path.basename(path)}",
             unit=" reviews", unit_scale=True, mininterval=1.0)
  for r in bar:
    bad_time = readers.check_time(r, path, bounds)
    if bad_time is not None:
      implausible += 1
      if cfg.skip_bad_records:  # counted as a skip; otherwise kept, counted and reported
        skips.bad(bad_time)
        continue
    cols["user"].append(r.user_id); cols["asin"].append(r.asin); cols["rating"].append(r.rating)
    cols["ts"].append(r.ts_ms); cols["review"].append(r.review)
    cols["summary"].append(r.summary); cols["src"].append(src); cols["line"].append(r.line)
    n += 1
    if len(cols["user"]) >= cfg.batch_rows:
      flush()
  flush()
  return n, implausible


def _ingest(cfg: PrepareConfig, work: str, skips: readers.SkipCounter,
            fields: readers.FieldStats) -> tuple[list[str], list[dict]]:
  """Stage 1: validated reviews -> one Parquet file per source; returns (files, per-source info)."""
  from recsaver_t5x.data import fast_ingest  # pylint: disable=import-outside-toplevel
  bounds = readers.plausible_ms_range()
  files, info = [], []
  for src, path in enumerate(cfg.reviews):
    layout = readers.detect_review_format(path)
    out = os.path.join(work, f"reviews-{src}.parquet")
    n, why, implausible = None, "--ingest strict", 0
    if cfg.ingest == "auto":
      with pq.ParquetWriter(out, _SCHEMA) as writer:
        n, why = fast_ingest.read_reviews(path, layout, src, bounds, writer.write_batch, _SCHEMA,
                                          fields, cfg.scale)
    if n is None:  # the strict reader names the problem (or counts the skips)
      with pq.ParquetWriter(out, _SCHEMA) as writer:
        n, implausible = _strict_file(path, src, writer, cfg, skips, fields, bounds, layout)
    files.append(out)
    info.append({"path": os.path.abspath(path), "format": layout, "reviews_read": n,
                 "reader": "arrow" if not why else f"python ({why})",
                 "implausible_timestamps": implausible})
  return files, info


def _parquet_list(parquet_files: list[str]) -> str:
  return "[" + ", ".join(f"'{p}'" for p in parquet_files) + "]"


def _positions(con, parquet_files: list[str], written: list[int]) -> tuple[int, int, dict]:
  """Stage 2: dedup and chronological positions; returns (kept, duplicates, duplicates per src).

  The table built here is light (no text): the texts of the few reviews that are used are read
  back from stage 1's Parquet files in stage 4. An exact duplicate shares (user, item, time)
  with another review, so only reviews whose (user, item, time) repeats have their text compared.
  `written[src]` is how many reviews stage 1 wrote for source `src`: duplicates per source are
  what is missing from the kept table, so no ranked copy of the whole corpus is materialised.
  """
  files = _parquet_list(parquet_files)
  con.sql(f"""
    CREATE TABLE reviews AS
    WITH light AS (
      SELECT user, asin, rating, ts, src, line, count(*) OVER (PARTITION BY user, asin, ts) AS n
      FROM read_parquet({files})),
    dropped AS (
      SELECT src, line FROM (
        SELECT p.src, p.line,
               row_number() OVER (PARTITION BY p.user, p.asin, p.ts, p.review ORDER BY p.src, p.line) AS dup
        FROM read_parquet({files}) p SEMI JOIN (SELECT src, line FROM light WHERE n > 1) m USING (src, line))
      WHERE dup > 1)
    SELECT user, asin, rating, ts, src, line,
           (row_number() OVER (PARTITION BY user ORDER BY ts, src, line) - 1) AS pos
    FROM light ANTI JOIN dropped USING (src, line)""")
  kept_per_src = dict(con.sql("SELECT src, count(*) FROM reviews GROUP BY src").fetchall())
  per_src = {src: n - kept_per_src.get(src, 0) for src, n in enumerate(written)}
  kept = sum(kept_per_src.values())
  return kept, sum(written) - kept, {src: n for src, n in per_src.items() if n}


def _histories(con, parquet_files: list[str], sel_users: list[str], sel_pos: list[int]) -> dict:
  """Stage 4: the selected (user, pos) examples' own and earlier reviews, grouped, with their text."""
  con.register("sel", pa.table({"user": sel_users, "pos": pa.array(sel_pos, pa.int64())}))
  rows = con.sql(f"""
    WITH h AS (SELECT s.user, s.pos AS target_pos, r.pos, r.asin, r.rating, r.ts, r.src, r.line
               FROM sel s JOIN reviews r ON r.user = s.user AND r.pos <= s.pos)
    SELECT h.user, h.target_pos, h.pos, h.asin, h.rating, h.ts, t.review, t.summary
    FROM h JOIN read_parquet({_parquet_list(parquet_files)}) t ON t.src = h.src AND t.line = h.line
    ORDER BY h.user, h.target_pos, h.pos""").to_arrow_table().to_pylist()
  con.unregister("sel")
  grouped: dict = {}
  for row in rows:
    grouped.setdefault((row["user"], row["target_pos"]), []).append(row)
  return grouped


def _load_meta(cfg: PrepareConfig, asins: set[str], skips: readers.SkipCounter,
               fields: readers.FieldStats) -> tuple[dict[str, Item], dict]:
  """The referenced items' metadata (first row per item wins) and a report of repeated rows."""
  items: dict[str, Item] = {}
  identical = conflicting = 0
  examples: list[str] = []
  formats = []
  for path in cfg.meta:
    formats.append({"path": os.path.abspath(path), "format": readers.detect_meta_format(path)})
    for item, row_fields in tqdm(readers.iter_meta_rows(path, skips, wanted=asins),
                                 desc=f"meta {os.path.basename(path)}", unit=" items",
                                 unit_scale=True, mininterval=1.0):
      if item.asin not in asins:
        continue
      first = items.setdefault(item.asin, item)
      if first is item:  # counted for the rows that are used: one per referenced item
        fields.merge(row_fields)
        continue
      if first == item:
        identical += 1
      else:  # the first row is kept; the conflict is reported, never resolved silently
        conflicting += 1
        if len(examples) < 10:
          diff = [f for f in ("title", "brand", "categories", "description", "price")
                  if getattr(first, f) != getattr(item, f)]
          examples.append(f"{item.asin} ({', '.join(diff)})")
  return items, {"files": formats, "repeated_rows_identical": identical,
                 "repeated_rows_conflicting": conflicting, "conflict_examples": examples}


def prepare(cfg: PrepareConfig, out_dir: str) -> dict:
  """Builds `<out_dir>/{train,test}.jsonl` and `manifest.json`; returns the manifest."""
  import duckdb  # pylint: disable=import-outside-toplevel
  if not cfg.reviews:
    raise UserFacingError("no review files given")
  for path in cfg.reviews:
    paths.require_file(path, "review file")
  for path in cfg.meta:
    paths.require_file(path, "metadata file")
  paths.distinct_outputs([out_dir], [*cfg.reviews, *cfg.meta])
  t0 = time.time()
  paths.writable_dir(out_dir)
  work = os.path.join(out_dir, ".work")
  shutil.rmtree(work, ignore_errors=True)
  os.makedirs(work)
  skips = readers.SkipCounter(cfg.skip_bad_records)
  review_fields, meta_fields = readers.FieldStats(), readers.FieldStats()
  stages: dict[str, float] = {}
  clock = [time.time()]

  def lap(name: str) -> None:
    now = time.time()
    stages[name] = round(now - clock[0], 2)
    clock[0] = now
  lap("setup")
  parquet_files, per_source = _ingest(cfg, work, skips, review_fields)
  lap("ingest")
  n_read = sum(s["reviews_read"] for s in per_source)
  # In memory, spilling to `spill` under the memory limit: the light table is never worth a file.
  con = duckdb.connect(":memory:")
  con.sql(f"SET memory_limit = '{cfg.memory_limit}'")
  con.sql(f"SET temp_directory = '{os.path.join(work, 'spill')}'")
  con.sql("SET preserve_insertion_order = false")
  n_kept, n_dup, dup_per_src = _positions(con, parquet_files, [s["reviews_read"] for s in per_source])
  for src, s in enumerate(per_source):
    s["duplicates_dropped"] = int(dup_per_src.get(src, 0))
  lap("dedup_positions")
  cand = con.sql(f"""
    SELECT user, pos, rating FROM reviews WHERE pos BETWEEN {cfg.min_history} AND {cfg.max_history}
    ORDER BY user, pos""").to_arrow_table()
  users = cand.column("user").to_numpy(zero_copy_only=False)
  pos = cand.column("pos").to_numpy()
  labels = cand.column("rating").to_numpy().astype(np.int64)
  eligible = {int(r): int(np.sum(labels == r)) for r in cfg.scale.values}
  selection = balanced_split(users, labels, cfg.train_per_label, cfg.test_per_label, cfg.seed,
                             cfg.mode, cfg.max_examples_per_user, cfg.scale.values)
  splits = {"train": selection.train, "test": selection.test}
  all_idx = np.concatenate([selection.train, selection.test])
  lap("select")
  groups = _histories(con, parquet_files, [str(u) for u in users[all_idx]], [int(p) for p in pos[all_idx]])
  con.close()
  lap("histories")
  asins = {row["asin"] for rows in groups.values() for row in rows}
  items, meta_report = _load_meta(cfg, asins, skips, meta_fields)
  missing_meta = sorted(asins - items.keys())
  lap("metadata")

  def item(asin: str) -> Item:
    return items.get(asin) or Item(asin=asin)

  counts = {}
  for split, idx in splits.items():
    examples = []
    for i in idx:
      rows = groups[(str(users[i]), int(pos[i]))]
      *hist, tgt = rows
      examples.append(Example(
          example_id=f"{cfg.domain}:{tgt['user']}:{tgt['asin']}:{tgt['pos']}", domain=cfg.domain,
          user_id=tgt["user"], history=tuple(HistoryEntry(item(h["asin"]), int(h["rating"]), h["review"],
                                                          h["summary"], int(h["ts"]) // 1000) for h in hist),
          target=item(tgt["asin"]), true_rating=int(tgt["rating"]), timestamp=int(tgt["ts"]) // 1000,
          split=split))
    examples.sort(key=lambda e: e.example_id)
    data_io.write_examples(os.path.join(out_dir, f"{split}.jsonl"), examples)
    counts[split] = {"examples": len(examples), "users": len({e.user_id for e in examples}),
                     "per_label": {str(r): sum(e.true_rating == r for e in examples) for r in cfg.scale.values}}
  lap("write")
  missing_fields = {f: sum(f in item(a).missing_fields() for a in asins)
                    for f in ("title", "brand", "categories", "description", "price")}
  manifest = {
      "format": "recsaver-t5x prepared examples v1",
      "rating_scale": cfg.scale.to_dict(),
      "config": dataclasses.asdict(cfg),
      "sources": [{"path": os.path.abspath(p), "role": role, "bytes": os.path.getsize(p),
                   "sha256": file_sha256(p)}
                  for role, paths in (("reviews", cfg.reviews), ("meta", cfg.meta)) for p in paths],
      "reviews_read": n_read, "duplicates_dropped": n_dup, "reviews_kept": n_kept,
      "skipped_records": skips.total, "skipped_detail": skips.summary(),
      "per_source": per_source,
      "implausible_timestamps": sum(s["implausible_timestamps"] for s in per_source),
      "text_cleaning": {"reviews": review_fields.to_dict(), "metadata": meta_fields.to_dict()},
      "metadata_repeats": meta_report,
      "eligible_per_label": {str(k): v for k, v in eligible.items()},
      "requested_per_label": selection.requested,
      "shortfalls": {s: {str(r): n for r, n in v.items()} for s, v in selection.shortfalls.items()},
      "counts": counts,
      "items_referenced": len(asins), "items_without_metadata": len(missing_meta),
      "items_missing_field": missing_fields,
      "seconds": round(time.time() - t0, 2),
      "ingest_seconds": stages["ingest"],  # stage 1 (reading and validating the review files)
      "stage_seconds": stages,
  }
  data_io.write_json_atomic(os.path.join(out_dir, "manifest.json"), manifest)
  shutil.rmtree(work, ignore_errors=True)
  return manifest


def _scale_text(manifest: dict) -> str:
  s = RatingScale.from_dict(manifest.get("rating_scale"))
  return f"{s.low}..{s.high}"


def summarize(manifest: dict) -> list[str]:
  """Human-readable lines about a finished prepare."""
  c = manifest["counts"]
  lines = [f"read {manifest['reviews_read']:,} reviews, dropped {manifest['duplicates_dropped']:,} exact "
           f"duplicates, skipped {manifest['skipped_records']:,} bad records",
           f"eligible per rating {_scale_text(manifest)}: " + " / ".join(str(v) for v in manifest["eligible_per_label"].values()),
           f"train {c['train']['examples']} examples ({c['train']['users']} users), per rating: "
           + " / ".join(str(v) for v in c["train"]["per_label"].values()),
           f"test  {c['test']['examples']} examples ({c['test']['users']} users), per rating: "
           + " / ".join(str(v) for v in c["test"]["per_label"].values())]
  for split, short in manifest["shortfalls"].items():
    lines.append(f"imbalance ({split}): " + ", ".join(f"rating {r} short by {n}" for r, n in short.items()))
  lines += manifest["skipped_detail"]
  if manifest.get("implausible_timestamps"):
    lines.append(f"{manifest['implausible_timestamps']} reviews have an implausible timestamp "
                 "(negative or in the future): "
                 + ("dropped (--skip-bad-records)" if manifest["config"]["skip_bad_records"]
                    else "kept; --skip-bad-records drops them"))
  for s in manifest.get("per_source", []):
    lines.append(f"{os.path.basename(s['path'])}: {s['format']} layout, {s['reviews_read']:,} reviews, "
                 f"{s['duplicates_dropped']:,} duplicates, read by {s['reader']}")
  rep_ = manifest.get("metadata_repeats", {})
  if rep_.get("repeated_rows_conflicting"):
    lines.append(f"{rep_['repeated_rows_conflicting']} repeated metadata rows differ from the first "
                 f"row of their item (first kept), e.g. {', '.join(rep_['conflict_examples'][:3])}")
  cleaned = manifest.get("text_cleaning", {})
  words = {"cleaned": "markup removed", "markup_only": "only markup (now missing)",
           "rejected": "wrong type (now missing)", "joined": "lists joined"}
  for kind, d in cleaned.items():  # {"cleaned": {"title": 3, ...}, ...} per source kind
    counted = [f"{words[k]} " + ", ".join(f"{field} {n:,}" for field, n in v.items())
               for k, v in d.items() if k in words and v]
    if counted:
      lines.append(f"{kind} fields: " + "; ".join(counted))
  if manifest["items_without_metadata"]:
    lines.append(f"{manifest['items_without_metadata']} of {manifest['items_referenced']} items have no "
                 "metadata (recorded as missing)")
  return lines

