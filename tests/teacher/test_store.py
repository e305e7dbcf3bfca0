"""Sample store: idempotent, append-only, crash-safe (torn lines, kill -9), single writer."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.teacher.store import Sample, SampleKey, SampleStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def key(i, m=0, t=0.7):
  return SampleKey(f"ex{i}", "reasoning", "smol", t, m)


def test_put_get_and_idempotent(tmp_path):
  path = str(tmp_path / "s.jsonl")
  with SampleStore(path) as st:
    assert st.put(Sample(key(1), "a", seed=1, extra={"truncation": {"clipped": []}}))
    assert not st.put(Sample(key(1), "different"))  # same key: nothing written
    assert st.put_many([Sample(key(2), "b"), Sample(key(2), "b2"), Sample(key(1, m=1), "c")]) == 2
  with SampleStore(path) as st:
    assert len(st) == 3
    assert st.get(key(1)).text == "a" and st.get(key(1)).extra == {"truncation": {"clipped": []}}
    assert key(1, t=0.0) not in st  # temperature is part of the key
    assert st.missing([key(1), key(3)]) == [key(3)]
    assert [s.key for s in st.select(variant="reasoning")] == [key(1), key(2), key(1, m=1)]
  assert sum(1 for _ in open(path)) == 3


def test_torn_last_line_is_repaired(tmp_path):
  path = str(tmp_path / "s.jsonl")
  with SampleStore(path) as st:
    st.put(Sample(key(1), "a"))
    st.put(Sample(key(2), "b"))
  whole = open(path, "rb").read()
  torn = b'{"key": ["ex3", "reasoning", "smol", 0.7, 0], "te'
  with open(path, "ab") as f:
    f.write(torn)  # a crash mid-write
  ro = SampleStore(path, readonly=True)  # readers skip it without touching the file
  assert len(ro) == 2 and ro.repaired_bytes == len(torn)
  assert open(path, "rb").read() == whole + torn
  with SampleStore(path) as st:
    assert len(st) == 2 and st.repaired_bytes == len(torn)
    assert open(path, "rb").read() == whole  # truncated back to the last whole record
    st.put(Sample(key(3), "c"))
  with SampleStore(path) as st:
    assert len(st) == 3 and st.repaired_bytes == 0


def test_corrupt_middle_line_is_an_error_with_line_number(tmp_path):
  path = str(tmp_path / "s.jsonl")
  with SampleStore(path) as st:
    st.put(Sample(key(1), "a"))
  with open(path, "ab") as f:
    f.write(b"garbage\n")
  with SampleStore(path) as st:  # a bad *last* line is a torn write: repaired
    assert len(st) == 1
    st.put(Sample(key(2), "b"))
  lines = open(path, "rb").read().splitlines(keepends=True)
  with open(path, "wb") as f:
    f.write(lines[0] + b"garbage\n" + lines[1])
  with pytest.raises(InputError, match=r":2: unreadable sample record"):
    SampleStore(path)


def test_one_writer_at_a_time(tmp_path):
  path = str(tmp_path / "s.jsonl")
  with SampleStore(path):
    with pytest.raises(UserFacingError, match="another process is writing"):
      SampleStore(path)
    SampleStore(path, readonly=True)  # readers are fine
  with SampleStore(path):
    pass


def _writer(path, n, size):
  return subprocess.Popen([sys.executable, "-m", "tests.teacher.store_writer", path, str(n), str(size)],
                          cwd=REPO, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": REPO})


@pytest.mark.parametrize("size,n", [(100, 1000), (20000, 400)])
def test_kill_9_nothing_lost_duplicated_or_redone(tmp_path, size, n):
  path = str(tmp_path / "s.jsonl")
  proc = _writer(path, n, size)
  assert proc.stdout.readline().startswith("opened 0")
  deadline = time.time() + 60
  while time.time() < deadline:  # kill somewhere in the middle of the run
    if os.path.exists(path) and os.path.getsize(path) > (size + 80) * n // 3:
      break
    time.sleep(0.002)
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL
  with SampleStore(path, readonly=True) as st:
    survived = len(st)
    assert 0 < survived < n, "the kill landed outside the run; the test proves nothing"
    assert st.duplicates == 0
  proc = _writer(path, n, size)
  out = proc.communicate(timeout=120)[0].splitlines()
  assert proc.returncode == 0
  assert out[-1] == f"wrote {n - survived}"  # finished work is not redone
  keys = [tuple(json.loads(line)["key"]) for line in open(path, encoding="utf-8")]
  assert len(keys) == n and len(set(keys)) == n  # nothing lost, nothing duplicated
  with SampleStore(path, readonly=True) as st:
    for s in st.samples():
      i = int(s.text.split(":")[0])
      assert s.seed == i and s.text == f"{i}:" + "x" * size
