"""File-system and text-decoding errors end as one line naming the path, never a traceback."""
import errno
import gzip
import json
import os
import subprocess
import sys

import pytest

from recsaver_t5x import cli, errors, paths
from recsaver_t5x.errors import UserFacingError

REVIEW = {"overall": 5.0, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1400000000,
          "reviewText": "fine"}


def _err(capsys, argv):
  rc = cli.main(argv)
  err = capsys.readouterr().err.strip()
  assert rc == 2, err
  assert "\n" not in err and "Traceback" not in err
  return err


def test_directory_given_for_review_file(capsys, tmp_path):
  err = _err(capsys, ["prepare", "--reviews", str(tmp_path), "--out", str(tmp_path / "o")])
  assert err.endswith(f"{tmp_path}: is a directory, expected a review file")


def test_output_equal_to_input(capsys, tmp_path):
  reviews = tmp_path / "r.json"
  reviews.write_text(json.dumps(REVIEW) + "\n")
  err = _err(capsys, ["prepare", "--reviews", str(reviews), "--out", str(reviews)])
  assert f"{reviews}: the output is the input {reviews}" in err
  assert json.loads(reviews.read_text()) == REVIEW  # untouched


def test_output_under_a_file(capsys, tmp_path):
  reviews = tmp_path / "r.json"
  reviews.write_text(json.dumps(REVIEW) + "\n")
  err = _err(capsys, ["prepare", "--reviews", str(reviews), "--out", str(reviews / "out")])
  assert "output directory" in err and str(reviews / "out") in err


def test_output_dir_not_writable(capsys, tmp_path):
  # Root may write anywhere, so the directory is made immutable (chattr +i stops root too).
  import shutil
  reviews = tmp_path / "r.json"
  reviews.write_text(json.dumps(REVIEW) + "\n")
  locked = tmp_path / "locked"
  locked.mkdir()
  if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(locked)],
                                                  capture_output=True, check=False).returncode:
    os.chmod(locked, 0o555)
    if os.geteuid() == 0:
      pytest.skip("cannot make a directory unwritable for root here")
  try:
    err = _err(capsys, ["prepare", "--reviews", str(reviews), "--out", str(locked)])
  finally:
    subprocess.run(["chattr", "-i", str(locked)], capture_output=True, check=False)
    os.chmod(locked, 0o755)
  assert err.startswith(f"recsaver prepare: error: output directory {locked}: ")
  assert err.endswith(("operation not permitted",
                       "permission denied (not readable or not writable by this user)"))


@pytest.mark.parametrize("code,words", [
    (errno.EROFS, "on a read-only file system"), (errno.EISDIR, "is a directory, expected a file"),
    (errno.ENOENT, "no such file or directory"), (errno.ENOSPC, "no space left on the device")])
def test_os_errors_in_words(code, words):
  assert errors.one_line(OSError(code, os.strerror(code), "/data/x")) == f"/data/x: {words}"


def test_read_only_file_system_is_one_line(tmp_path, monkeypatch):
  def refuse(path, *a, **k):
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
  monkeypatch.setattr(os, "makedirs", refuse)  # a read-only mount cannot be made without privileges
  with pytest.raises(UserFacingError) as e:
    paths.writable_dir(str(tmp_path / "out"))
  assert str(e.value) == f"output directory {tmp_path / 'out'}: on a read-only file system"


def test_missing_parent_of_a_store_is_named(capsys, tmp_path):
  refs = tmp_path / "refs.jsonl"
  refs.write_text(json.dumps({"example_id": "e1", "rating": 4, "references": ["x"]}) + "\n")
  err = _err(capsys, ["reasoning-metrics", "--references", str(refs), "--candidates", str(tmp_path)])
  assert err.endswith(f"{tmp_path}: is a directory, expected a candidates file")


def test_latin1_byte_in_annotation_csv_names_the_file(capsys, tmp_path):
  path = tmp_path / "ann.csv"
  path.write_bytes(b"annotator,example_id,coherence,faithfulness,insightfulness\n"
                   b"Jos\xe9,e1,4,1,3\n")
  err = _err(capsys, ["alignment", str(path)])
  assert f"{path}: not UTF-8 text (byte 0xe9" in err


def test_latin1_byte_in_run_file_names_the_file(capsys, tmp_path):
  path = tmp_path / "run.toml"
  path.write_bytes(b'run_dir = "runs/caf\xe9"\n')
  err = _err(capsys, ["run", str(path)])
  assert f"{path}: not UTF-8 text (byte 0xe9" in err


def test_utf8_bom_csv_is_read(tmp_path):
  from recsaver_t5x.recsaver import alignment
  path = tmp_path / "ann.csv"
  path.write_bytes("annotator,example_id,coherence,faithfulness,insightfulness\na,e1,4,1,3\n"
                   .encode("utf-8-sig"))
  (ann,) = alignment.read_annotations(str(path))
  assert ann.annotator == "a"


def test_utf8_bom_jsonl_and_reviews_are_read(tmp_path):
  from recsaver_t5x.data import io as data_io, readers
  path = tmp_path / "r.json"
  path.write_bytes(b"\xef\xbb\xbf" + json.dumps(REVIEW).encode() + b"\n")
  assert [o["asin"] for _, o in data_io.iter_json_objects(str(path))] == ["a1"]
  (r,) = readers.iter_reviews(str(path), readers.SkipCounter())
  assert r.user_id == "u1"
  gz = tmp_path / "r.json.gz"
  gz.write_bytes(gzip.compress(path.read_bytes()))
  assert len(list(readers.iter_reviews(str(gz), readers.SkipCounter()))) == 1


def test_missing_log_dir_is_named(capsys, tmp_path):
  err = _err(capsys, ["teacher-serve", "--log-dir", str(tmp_path / "no" / "logs")])
  assert f"{tmp_path / 'no' / 'logs'}/" in err and err.endswith(": no such file or directory")
