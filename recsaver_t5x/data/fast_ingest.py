"""The common ingest path: Arrow's native JSON reader, streaming, validated column-wise.

A review file whose every record is well-formed (required fields present and typed, ratings
on the domain's scale, plausible timestamps) is read here in C++ blocks at several times the speed of the Python
line loop; text with markup is then cleaned in Python, only where the markup test matches. Any
file that fails this validation - a parse error, a wrong type, a bad value anywhere - is
reported back (`None`), and the caller reads it again with the strict Python reader
(`readers.iter_reviews`), which names the file, line and field of the first problem or counts
the skips. So every error message stays the strict reader's, and memory stays bounded by the
block size (the reader streams; nothing is collected).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsaver_t5x.data import html_text
from recsaver_t5x.data.readers import REVIEW_LAYOUTS, FieldStats
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale

BLOCK_BYTES = 8 << 20
_GZIP_MAGIC = b"\x1f\x8b"
# RE2 form of html_text._MARKUP (no look-around there, so the same pattern).
_MARKUP_RE2 = html_text._MARKUP.pattern  # pylint: disable=protected-access


def _json_schema(layout_name: str) -> pa.Schema:
  lay = REVIEW_LAYOUTS[layout_name]
  fields = [(lay.user, pa.string()), *((k, pa.string()) for k in lay.items),
            (lay.rating, pa.float64()), (lay.time, pa.int64()), (lay.text, pa.string()),
            (lay.summary, pa.string())]
  return pa.schema(fields)


def _blank_to_null(col: pa.ChunkedArray | pa.Array) -> pa.Array:
  blank = pc.equal(pc.utf8_trim_whitespace(col), "")
  return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), col)


def _clean_column(col: pa.Array, field: str, fields: FieldStats) -> pa.Array:
  # Two literal searches (memchr speed) rule out almost every value; the regex and then the
  # HTML parser only see the rest, and only the changed values are rebuilt.
  maybe = pc.fill_null(pc.or_(pc.match_substring(col, "<"), pc.match_substring(col, "&")), False)
  if not pc.any(maybe).as_py():
    return col
  idx = pc.indices_nonzero(maybe)
  hits = pc.fill_null(pc.match_substring_regex(col.take(idx), _MARKUP_RE2), False)
  idx = pc.filter(idx, hits)
  if not len(idx):
    return col
  cleaned = [fields.text(field, v) for v in col.take(idx).to_pylist()]
  mask = np.zeros(len(col), dtype=bool)
  mask[idx.to_numpy()] = True
  return pc.replace_with_mask(col, pa.array(mask), pa.array(cleaned, pa.string()))


def read_reviews(path: str, layout_name: str, src: int, bounds_ms: tuple[int, int],
                 write: Callable[[pa.RecordBatch], None], schema: pa.Schema,
                 fields: FieldStats, scale: RatingScale = DEFAULT_SCALE) -> tuple[Optional[int], str]:
  """Reads one file into `write` (batches of `schema`); returns (reviews, '') or (None, why).

  On (None, why) some batches may have been written: the caller discards them.
  """
  import pyarrow.json as pj  # pylint: disable=import-outside-toplevel
  lay = REVIEW_LAYOUTS[layout_name]
  with open(path, "rb") as probe:
    gz = probe.read(2) == _GZIP_MAGIC
  low, high = bounds_ms
  n = 0
  local = FieldStats()  # merged into `fields` only when the whole file passed
  try:
    stream = pa.input_stream(path, compression="gzip" if gz else None)
    reader = pj.open_json(stream, read_options=pj.ReadOptions(block_size=BLOCK_BYTES),
                          parse_options=pj.ParseOptions(explicit_schema=_json_schema(layout_name),
                                                        unexpected_field_behavior="ignore"))
    for batch in reader:
      user = batch.column(lay.user)
      item = batch.column(lay.items[0])
      for alt in lay.items[1:]:
        item = pc.coalesce(item, batch.column(alt))
      rating, ts = batch.column(lay.rating), batch.column(lay.time)
      ok = pc.and_(pc.and_(pc.is_valid(user), pc.is_valid(item)),
                   pc.and_(pc.is_valid(rating), pc.is_valid(ts)))
      ok = pc.and_(ok, pc.and_(pc.greater(pc.utf8_length(pc.fill_null(user, "")), 0),
                               pc.greater(pc.utf8_length(pc.fill_null(item, "")), 0)))
      ok = pc.and_(ok, pc.is_in(rating, pa.array([float(v) for v in scale.values])))
      ts_ms = pc.multiply(ts, lay.time_unit_ms)
      ok = pc.and_(ok, pc.and_(pc.greater_equal(ts_ms, low), pc.less_equal(ts_ms, high)))
      if not pc.all(pc.fill_null(ok, False)).as_py():
        return None, "a record failed validation"
      k = batch.num_rows
      review = _clean_column(_blank_to_null(batch.column(lay.text)), "review", local)
      summary = _clean_column(_blank_to_null(batch.column(lay.summary)), "summary", local)
      write(pa.record_batch([
          user, item, pc.cast(rating, pa.int8()), ts_ms, review, summary,
          pa.array(np.full(k, src, np.int16)), pa.array(np.arange(n + 1, n + k + 1, dtype=np.int64))],
          schema=schema))
      n += k
  except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, EOFError) as e:
    return None, f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
  if n == 0:
    return None, "no records"
  fields.merge(local)
  return n, ""
