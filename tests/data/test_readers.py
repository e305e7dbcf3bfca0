"""Bad input ends in one clear error naming file, line and field (or a counted skip)."""
import gzip
import json
import subprocess
import sys

import pytest

from recsaver_t5x.data import readers
from recsaver_t5x.errors import InputError

GOOD = {"reviewerID": "U1", "asin": "A1", "overall": 5.0, "unixReviewTime": 100, "reviewText": "ok", "summary": "s"}


def _write(path, lines, gz=True):
  data = "".join(l + "\n" for l in lines).encode()
  if gz:
    data = gzip.compress(data)
  path.write_bytes(data)
  return str(path)


def _read_all(path, skip=False):
  skips = readers.SkipCounter(skip)
  return list(readers.iter_reviews(path, skips)), skips


def test_reads_gzip_and_plain(tmp_path):
  lines = [json.dumps(GOOD), json.dumps({**GOOD, "reviewerID": "U2", "overall": 3})]
  for gz in (True, False):
    revs, _ = _read_all(_write(tmp_path / f"r{gz}", lines, gz))
    assert [(r.user_id, r.rating, r.line) for r in revs] == [("U1", 5, 1), ("U2", 3, 2)]


@pytest.mark.parametrize("record,field,fragment", [
    ({k: v for k, v in GOOD.items() if k != "overall"}, "overall", "missing"),
    ({**GOOD, "overall": 6.0}, "overall", "outside 1..5"),
    ({**GOOD, "overall": 3.5}, "overall", "outside 1..5"),
    ({**GOOD, "overall": "x"}, "overall", "not a number"),
    ({**GOOD, "reviewerID": ""}, "reviewerID", "missing"),
    ({**GOOD, "unixReviewTime": "yesterday"}, "unixReviewTime", "integer"),
])
def test_bad_fields_name_file_line_field(tmp_path, record, field, fragment):
  path = _write(tmp_path / "r.json.gz", [json.dumps(GOOD), json.dumps(record)])
  with pytest.raises(InputError) as e:
    _read_all(path)
  assert e.value.line == 2 and e.value.field == field and fragment in str(e.value)
  assert str(e.value).startswith(f"{path}:2: field '{field}':")


def test_not_json_undecodable_empty_truncated(tmp_path):
  with pytest.raises(InputError, match=r":2: not a JSON object"):
    _read_all(_write(tmp_path / "a.gz", [json.dumps(GOOD), "{not json"]))
  bad = tmp_path / "b.json"
  bad.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"reviewerID": "\xff\xfe"}\n')
  with pytest.raises(InputError, match=r":2: undecodable bytes"):
    _read_all(str(bad))
  empty = tmp_path / "c.json"
  empty.write_bytes(b"")
  with pytest.raises(InputError, match="empty"):
    _read_all(str(empty))
  blank_gz = _write(tmp_path / "d.gz", [""])
  with pytest.raises(InputError, match="no records"):
    _read_all(blank_gz)
  full = gzip.compress(("\n".join(json.dumps({**GOOD, "reviewerID": f"U{i}"}) for i in range(2000)) + "\n").encode())
  trunc = tmp_path / "e.gz"
  trunc.write_bytes(full[: len(full) // 2])
  with pytest.raises(InputError, match="truncated gzip"):
    _read_all(str(trunc))


def test_skip_bad_records_counts_and_reports(tmp_path):
  path = _write(tmp_path / "r.gz", [json.dumps(GOOD), "garbage", json.dumps({**GOOD, "overall": 0}),
                                    json.dumps({**GOOD, "overall": 9}), json.dumps({**GOOD, "asin": "A2"})])
  revs, skips = _read_all(path, skip=True)
  assert [r.asin for r in revs] == ["A1", "A2"]
  assert skips.total == 3
  assert any(s.startswith("2 skipped: bad field 'overall'") and "outside 1..5" in s for s in skips.summary())


def test_meta_2014_literal_and_2018_json(tmp_path):
  lit = "{'asin': 'B1', 'title': 'Gold &amp; Silver', 'price': 9.5, 'categories': [['CDs', 'Pop'], ['CDs', 'Rock']]}"
  j = json.dumps({"asin": "B2", "title": "T", "category": ["Beauty", "Skin"], "description": ["a", "b"],
                  "price": "$1.00", "brand": "X"})
  path = _write(tmp_path / "m.gz", [lit, j, "{'asin': 'B3', 'title': 'other'}"])
  items = {i.asin: i for i in readers.iter_meta(path, readers.SkipCounter())}
  assert items["B1"].title == "Gold & Silver" and items["B1"].price == "$9.50"
  assert items["B1"].categories == ("CDs", "Pop", "Rock") and items["B1"].description is None
  assert items["B1"].missing_fields() == ("brand", "description")
  assert items["B2"].description == "a b" and items["B2"].categories == ("Beauty", "Skin")
  wanted = {i.asin for i in readers.iter_meta(path, readers.SkipCounter(), wanted={"B1"})}
  assert wanted == {"B1", "B2"}  # JSON lines are always parsed; other literal lines are skipped


def test_literal_eval_never_evaluates_code(tmp_path):
  path = _write(tmp_path / "m.gz", ["{'asin': 'B1', 'title': __import__('os').getcwd()}"])
  with pytest.raises(InputError, match="neither JSON nor a Python dict literal"):
    list(readers.iter_meta(path, readers.SkipCounter()))


def test_cli_prints_one_line_not_traceback(tmp_path):
  path = _write(tmp_path / "r.json.gz", [json.dumps(GOOD), json.dumps({**GOOD, "overall": 7})])
  proc = subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "prepare", "--reviews", path, "--out",
                         str(tmp_path / "out")], capture_output=True, text=True)
  assert proc.returncode == 2
  err = [l for l in proc.stderr.splitlines() if l.strip() and "reviews/s" not in l]
  assert err[-1] == f"recsaver prepare: error: {path}:2: field 'overall': rating 7 outside 1..5"
  assert "Traceback" not in proc.stderr
