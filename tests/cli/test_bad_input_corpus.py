"""Issue 13's corpus of malformed inputs: every case ends in exit 2 and ONE line
`recsaver CMD: error: ...` naming the file (line, field) or the flag, or in a counted skip.

The cases are in `bad_input_cases.py` (a table: argv, files, expected words). They run in-process
through `cli.main` (no interpreter start per case), each with a time limit, so the whole table
runs in well under two minutes; a case needing a real server or model is marked slow.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess

import pytest

from recsaver_t5x import cli
from tests.cli.bad_input_cases import CASES, put, write_fixture

CASE_SECONDS = 60


class Hang(Exception):
  pass


@contextlib.contextmanager
def time_limit(seconds: int):
  def alarm(*_):
    raise Hang(f"no answer within {seconds}s")
  old = signal.signal(signal.SIGALRM, alarm)
  signal.alarm(seconds)
  try:
    yield
  finally:
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def immutable(path: str):
  """A directory nobody may write in, root included (chattr +i), for the case's duration."""
  os.makedirs(path, exist_ok=True)
  if not shutil.which("chattr") or subprocess.run(["chattr", "+i", path], capture_output=True,
                                                  check=False).returncode:
    os.chmod(path, 0o555)
    if os.geteuid() == 0:
      pytest.skip("cannot make a directory unwritable for root here")
  try:
    yield
  finally:
    subprocess.run(["chattr", "-i", path], capture_output=True, check=False)
    os.chmod(path, 0o755)


def run_case(case, d: str, capsys) -> tuple[object, str, str, int]:
  """(exit status or the exception raised, stderr, stdout, port) of one case run in directory `d`."""
  write_fixture(d)
  for rel, content in case.files.items():
    put(d, rel, content)
  with contextlib.ExitStack() as stack:
    taken = stack.enter_context(socket.socket())  # {port}: a port that is in use
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    argv = shlex.split(case.argv.format(d=d, port=port))
    if case.locked:
      stack.enter_context(immutable(os.path.join(d, case.locked)))
    for sig in (signal.SIGINT, signal.SIGTERM):  # servers install their own handlers
      stack.callback(signal.signal, sig, signal.getsignal(sig))
    try:
      with time_limit(CASE_SECONDS):
        rc = cli.main(argv)
    except SystemExit as e:
      rc = e.code
    except Exception as e:  # pylint: disable=broad-except  (a traceback is what we look for)
      rc = e
    captured = capsys.readouterr()
  return rc, captured.err, captured.out, port


PROGRESS = re.compile(r"\[\d+:\d+(?::\d+)?[,<]")  # a tqdm bar: "read r.json: 84 reviews [00:00, 95k reviews/s]"


def error_lines(err: str) -> list[str]:
  """stderr without progress bars, and without argparse's usage block (printed above its one
  error line): what is left must be the one error line."""
  lines = [l for l in err.splitlines() if l.strip() and not PROGRESS.search(l)]
  if lines and lines[0].startswith("usage:"):
    lines = [l for l in lines if ": error: " in l]
  return lines


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
  for var in ("RECSAVER_TEACHER_BASE_URL", "RECSAVER_TEACHER_MODEL", "RECSAVER_DATA"):
    monkeypatch.delenv(var, raising=False)
  monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES])
def test_bad_input(case, tmp_path, capsys):
  d = str(tmp_path)
  rc, err, out, port = run_case(case, d, capsys)
  command = case.id.split("/")[0]
  needles = [n.format(d=d, port=port) for n in case.needles]
  if needles[0].startswith("SKIP:"):  # a counted, reported skip: the command succeeds
    assert rc == 0, err
    assert needles[0][5:] in out + err
    assert "Traceback" not in err
    return
  assert not isinstance(rc, BaseException), f"{type(rc).__name__}: {rc}"
  assert "Traceback" not in err
  lines = error_lines(err)
  assert rc == 2 and len(lines) == 1, err
  assert lines[0].startswith(f"recsaver {command}: error: "), lines[0]
  for needle in needles:
    assert needle in lines[0]


def test_the_corpus_covers_every_subcommand():
  assert len(CASES) >= 150
  assert len({c.id for c in CASES}) == len(CASES)
  assert {c.id.split("/")[0] for c in CASES} == set(cli.COMMANDS)
