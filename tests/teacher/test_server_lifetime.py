"""A killed toolkit leaves no llama.cpp server behind."""
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

_CHILD = """
import sys, time
from recsaver_t5x.teacher import server
s = server.LlamaServer(server.ServerSpec(model_path=server.packaged_gguf()))
s.launch()
print(s.proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too
    return f.read().split()[2] != "Z"


def test_server_dies_with_a_kill9ed_parent():
  parent = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
  server_pid = int(parent.stdout.readline())
  assert _alive(server_pid)
  parent.send_signal(signal.SIGKILL)
  parent.wait()
  deadline = time.time() + 20
  while _alive(server_pid) and time.time() < deadline:
    time.sleep(0.2)
  assert not _alive(server_pid)
