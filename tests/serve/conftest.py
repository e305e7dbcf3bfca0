"""A tiny student trained here (it memorises 5 examples) and a real `recsaver serve` process."""
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.trainer import helpers

INPUT_LENGTH, TARGET_LENGTH = 384, 24


def train_tiny_student(directory: str) -> dict:
  """Trains the overfitting tiny student of tests/trainer (test split = train split)."""
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model.config import get_config
  from recsaver_t5x.trainer import optimizers, train_lib
  from tests.tasks import fakedata
  tasks_cfg = helpers.make_domain(directory, n_train=5, n_test=0)
  train = fakedata.make_examples(5, "beauty", seed=1, prefix="tr")
  prepared = fakedata.write_prepared(os.path.join(directory, "prepared"), train, train)
  model_dir = os.path.join(directory, "tiny")
  train_lib.train(
      model_dir=model_dir, mixture_or_task_name="recsaver_beauty_reason_all_m1",
      task_feature_lengths={"inputs": INPUT_LENGTH, "targets": TARGET_LENGTH}, train_steps=150,
      batch_size=5, model_config=get_config("tiny", emb_dim=32, head_dim=8, mlp_dim=64,
                                            dropout_rate=0.0, dtype="float32"),
      vocab_size=None, learning_rate_fn=optimizers.learning_rate_schedule(1e-2),
      tasks_config=tasks_cfg, checkpoint_period=1000, log_every=50, report_mfu=False,
      progress=False, async_checkpointing=False)
  return {"model_dir": model_dir, "spm": os.path.join(directory, "spm.model"),
          "prepared": prepared, "examples": train}


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory):
  return train_tiny_student(str(tmp_path_factory.mktemp("student")))


class ServerProcess:
  """`recsaver serve` in a child process; `url` ends in /v1."""

  def __init__(self, args: list[str]):
    self.proc = subprocess.Popen([sys.executable, "-m", "recsaver_t5x.cli", "serve", *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=helpers.subprocess_env(), cwd=helpers.REPO)
    line = self.proc.stdout.readline().strip()
    if not line.startswith("http://"):
      self.proc.kill()
      raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()[-3000:]}")
    self.url = line
    self.root = line[:-len("/v1")]

  def stats(self) -> dict:
    return httpx.get(f"{self.root}/stats", timeout=30).json()

  def stop(self, timeout: float = 60) -> int:
    if self.proc.poll() is None:
      self.proc.send_signal(signal.SIGTERM)
    try:
      return self.proc.wait(timeout)
    except subprocess.TimeoutExpired:
      self.proc.kill()
      raise


def serve_args(student: dict, *extra: str) -> list[str]:
  return [student["model_dir"], "--vocabulary", student["spm"], "--port", "0", "--max-input-length", str(INPUT_LENGTH),
          "--max-decode-length", "32", "--batch-buckets", "1,4,8", "--input-buckets", "256,384",
          "--decode-buckets", "32", *extra]


@pytest.fixture(scope="module")
def server(tiny_student):
  s = ServerProcess(serve_args(tiny_student, "--warmup", "--max-queue", "24"))
  yield s
  s.stop()
  time.sleep(0.1)
