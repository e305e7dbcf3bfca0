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
from recsaver_t5x.data.records import RATINGS, Example, HistoryEntry, Item
from recsaver_t5x.data.sampling import balanced_split
from recsaver_t5x import paths
from recsaver_t5x.errors import UserFacingError

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


def file_sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def _ingest(cfg: PrepareConfig, parquet_path: str, skips: readers.SkipCounter) -> int:
  """Stage 1: validated reviews -> Parquet, in batches."""
  n = 0
  cols: dict[str, list] = {name: [] for name in _SCHEMA.names}
  with pq.ParquetWriter(parquet_path, _SCHEMA) as writer:
    def flush():
      if cols["user"]:
        writer.write_batch(pa.record_batch([pa.array(cols[k], type=_SCHEMA.field(k).type)
                                            for k in _SCHEMA.names], schema=_SCHEMA))
        for v in cols.values():
          v.clear()
    for src, path in enumerate(cfg.reviews):
      bar = tqdm(readers.iter_reviews(path, skips), desc=f"read {os.path.basename(path)}",
                 unit=" reviews", unit_scale=True, mininterval=1.0)
      for r in bar:
        cols["user"].append(r.user_id); cols["asin"].append(r.asin); cols["rating"].append(r.rating)
        cols["ts"].append(r.timestamp); cols["review"].append(r.review)
        cols["summary"].append(r.summary); cols["src"].append(src); cols["line"].append(r.line)
        n += 1
        if len(cols["user"]) >= cfg.batch_rows:
          flush()
      flush()
  return n


def _positions(con, parquet_path: str, cfg: PrepareConfig) -> tuple[int, int]:
  """Stage 2: dedup and chronological positions; returns (kept, duplicates)."""
  con.sql(f"""
    CREATE TABLE reviews AS
    SELECT * EXCLUDE (dup), (row_number() OVER (PARTITION BY user ORDER BY ts, src, line) - 1) AS pos
    FROM (SELECT *, row_number() OVER (PARTITION BY user, asin, ts, review ORDER BY src, line) AS dup
          FROM read_parquet('{parquet_path}'))
    WHERE dup = 1""")
  kept = con.sql("SELECT count(*) FROM reviews").fetchall()[0][0]
  total = con.sql(f"SELECT count(*) FROM read_parquet('{parquet_path}')").fetchall()[0][0]
  return kept, total - kept


def _histories(con, sel_users: list[str], sel_pos: list[int]) -> dict:
  """Stage 4: the selected (user, pos) examples' own and earlier reviews, grouped."""
  con.register("sel", pa.table({"user": sel_users, "pos": pa.array(sel_pos, pa.int64())}))
  rows = con.sql("""
    SELECT s.user, s.pos AS target_pos, r.pos, r.asin, r.rating, r.ts, r.review, r.summary
    FROM sel s JOIN reviews r ON r.user = s.user AND r.pos <= s.pos
    ORDER BY s.user, s.pos, r.pos""").to_arrow_table().to_pylist()
  con.unregister("sel")
  grouped: dict = {}
  for row in rows:
    grouped.setdefault((row["user"], row["target_pos"]), []).append(row)
  return grouped


def _load_meta(cfg: PrepareConfig, asins: set[str], skips: readers.SkipCounter) -> dict[str, Item]:
  items: dict[str, Item] = {}
  for path in cfg.meta:
    for item in tqdm(readers.iter_meta(path, skips, wanted=asins), desc=f"meta {os.path.basename(path)}",
                     unit=" items", unit_scale=True, mininterval=1.0):
      if item.asin in asins and item.asin not in items:
        items[item.asin] = item
  return items


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
  parquet_path = os.path.join(work, "reviews.parquet")
  n_read = _ingest(cfg, parquet_path, skips)
  con = duckdb.connect(os.path.join(work, "reviews.duckdb"))
  con.sql(f"SET memory_limit = '{cfg.memory_limit}'")
  con.sql(f"SET temp_directory = '{os.path.join(work, 'spill')}'")
  con.sql("SET preserve_insertion_order = false")
  n_kept, n_dup = _positions(con, parquet_path, cfg)
  cand = con.sql(f"""
    SELECT user, pos, rating FROM reviews WHERE pos BETWEEN {cfg.min_history} AND {cfg.max_history}
    ORDER BY user, pos""").to_arrow_table()
  users = cand.column("user").to_numpy(zero_copy_only=False)
  pos = cand.column("pos").to_numpy()
  labels = cand.column("rating").to_numpy().astype(np.int64)
  eligible = {int(r): int(np.sum(labels == r)) for r in RATINGS}
  selection = balanced_split(users, labels, cfg.train_per_label, cfg.test_per_label, cfg.seed,
                             cfg.mode, cfg.max_examples_per_user)
  splits = {"train": selection.train, "test": selection.test}
  all_idx = np.concatenate([selection.train, selection.test])
  groups = _histories(con, [str(u) for u in users[all_idx]], [int(p) for p in pos[all_idx]])
  con.close()
  asins = {row["asin"] for rows in groups.values() for row in rows}
  items = _load_meta(cfg, asins, skips)
  missing_meta = sorted(asins - items.keys())

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
                                                          h["summary"], int(h["ts"])) for h in hist),
          target=item(tgt["asin"]), rating=int(tgt["rating"]), timestamp=int(tgt["ts"]), split=split))
    examples.sort(key=lambda e: e.example_id)
    data_io.write_examples(os.path.join(out_dir, f"{split}.jsonl"), examples)
    counts[split] = {"examples": len(examples), "users": len({e.user_id for e in examples}),
                     "per_label": {str(r): sum(e.rating == r for e in examples) for r in RATINGS}}
  missing_fields = {f: sum(f in item(a).missing_fields() for a in asins)
                    for f in ("title", "brand", "categories", "description", "price")}
  manifest = {
      "format": "recsaver-t5x prepared examples v1",
      "config": dataclasses.asdict(cfg),
      "sources": [{"path": os.path.abspath(p), "role": role, "bytes": os.path.getsize(p),
                   "sha256": file_sha256(p)}
                  for role, paths in (("reviews", cfg.reviews), ("meta", cfg.meta)) for p in paths],
      "reviews_read": n_read, "duplicates_dropped": n_dup, "reviews_kept": n_kept,
      "skipped_records": skips.total, "skipped_detail": skips.summary(),
      "eligible_per_label": {str(k): v for k, v in eligible.items()},
      "requested_per_label": selection.requested,
      "shortfalls": {s: {str(r): n for r, n in v.items()} for s, v in selection.shortfalls.items()},
      "counts": counts,
      "items_referenced": len(asins), "items_without_metadata": len(missing_meta),
      "items_missing_field": missing_fields,
      "seconds": round(time.time() - t0, 2),
  }
  data_io.write_json_atomic(os.path.join(out_dir, "manifest.json"), manifest)
  shutil.rmtree(work, ignore_errors=True)
  return manifest


def summarize(manifest: dict) -> list[str]:
  """Human-readable lines about a finished prepare."""
  c = manifest["counts"]
  lines = [f"read {manifest['reviews_read']:,} reviews, dropped {manifest['duplicates_dropped']:,} exact "
           f"duplicates, skipped {manifest['skipped_records']:,} bad records",
           "eligible per rating 1..5: " + " / ".join(str(v) for v in manifest["eligible_per_label"].values()),
           f"train {c['train']['examples']} examples ({c['train']['users']} users), per rating: "
           + " / ".join(str(v) for v in c["train"]["per_label"].values()),
           f"test  {c['test']['examples']} examples ({c['test']['users']} users), per rating: "
           + " / ".join(str(v) for v in c["test"]["per_label"].values())]
  for split, short in manifest["shortfalls"].items():
    lines.append(f"imbalance ({split}): " + ", ".join(f"rating {r} short by {n}" for r, n in short.items()))
  lines += manifest["skipped_detail"]
  if manifest["items_without_metadata"]:
    lines.append(f"{manifest['items_without_metadata']} of {manifest['items_referenced']} items have no "
                 "metadata (recorded as missing)")
  return lines

