"""Sampler: M distinct-seed requests per example, resumable and idempotent through the store."""
import os
import signal
import subprocess
import sys
import time

import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting.variants import VARIANTS, Budget
from recsaver_t5x.teacher.client import ClientConfig, TeacherError
from recsaver_t5x.teacher.sampler import SamplingConfig, derive_seed, example_jobs, sample_jobs
from recsaver_t5x.teacher.store import SampleKey, SampleStore
from tests.teacher.conftest import make_example
from tests.teacher.fault_server import FaultServer, ok_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cfg(url, **kw):
  return ClientConfig(base_urls=(url,), model="fault-model", api_key_env=None, backoff_base_s=0.01,
                      **kw)


def test_m_samples_are_m_requests_with_distinct_recorded_seeds(tmp_path):
  examples = [make_example(i) for i in range(3)]
  jobs = example_jobs(examples, VARIANTS["reasoning"], "fault-model",
                      SamplingConfig(num_samples=4, temperature=0.7))
  with FaultServer() as fs, SampleStore(str(tmp_path / "s.jsonl")) as store:
    stats = sample_jobs(cfg(fs.url), store, jobs, progress=False)
    seeds = [r["body"]["seed"] for r in fs.chat_requests()]
  assert stats.sampled == 12 and stats.already_stored == 0 and len(store) == 12
  assert len(set(seeds)) == 12
  for s in store.samples():
    assert s.seed == derive_seed(s.key) and s.text == ok_text(s.seed)
    assert s.key.temperature == 0.7 and s.key.model == "fault-model" and 0 <= s.key.sample_index < 4
    assert s.prompt_tokens == 10 and s.completion_tokens == 7 and "truncation" in s.extra
  assert {r["body"]["temperature"] for r in fs.chat_requests()} == {0.7}


def test_rerun_is_idempotent_and_resumes(tmp_path):
  examples = [make_example(i) for i in range(4)]
  sc = SamplingConfig(num_samples=2, temperature=0.5)
  path = str(tmp_path / "s.jsonl")
  with FaultServer() as fs:
    with SampleStore(path) as store:
      sample_jobs(cfg(fs.url), store, example_jobs(examples[:2], VARIANTS["reasoning"], "fault-model", sc),
                  progress=False)
    assert len(fs.chat_requests()) == 4
    with SampleStore(path) as store:  # more examples: only the new ones are requested
      stats = sample_jobs(cfg(fs.url), store, example_jobs(examples, VARIANTS["reasoning"], "fault-model", sc),
                          progress=False)
      assert (stats.already_stored, stats.sampled, len(store)) == (4, 4, 8)
    assert len(fs.chat_requests()) == 8
    with SampleStore(path) as store:  # nothing left to do
      stats = sample_jobs(cfg(fs.url), store, example_jobs(examples, VARIANTS["reasoning"], "fault-model", sc),
                          progress=False)
      assert stats.sampled == 0
    assert len(fs.chat_requests()) == 8
  assert sum(1 for _ in open(path)) == 8


def test_changed_prompt_is_not_mixed_into_an_old_store(tmp_path):
  path = str(tmp_path / "s.jsonl")
  sc = SamplingConfig(num_samples=1)
  with FaultServer() as fs, SampleStore(path) as store:
    sample_jobs(cfg(fs.url), store, example_jobs([make_example(1)], VARIANTS["reasoning"], "fault-model", sc),
                progress=False)
    other = SamplingConfig(num_samples=1, budget=Budget(max_prompt_chars=300))
    with pytest.raises(UserFacingError, match="different prompt text"):
      sample_jobs(cfg(fs.url), store, example_jobs([make_example(1)], VARIANTS["reasoning"], "fault-model", other),
                  progress=False)


def test_failure_stops_the_run_but_keeps_finished_samples(tmp_path):
  examples = [make_example(i) for i in range(6)]
  jobs = example_jobs(examples, VARIANTS["reasoning"], "fault-model", SamplingConfig(num_samples=1))
  path = str(tmp_path / "s.jsonl")
  with FaultServer(["ok", "ok", "500", "500", "500"]) as fs:
    with SampleStore(path) as store:
      with pytest.raises(TeacherError, match="after 3 attempts"):
        sample_jobs(cfg(fs.url, max_retries=2), store, jobs, progress=False)
      assert len(store) == 2
    with SampleStore(path) as store:
      stats = sample_jobs(cfg(fs.url), store, jobs, progress=False)
      assert (stats.already_stored, stats.sampled) == (2, 4)


def _sampler_proc(url, path):
  code = ("import sys; from tests.teacher.test_sampler import run_sampler_script; "
          "run_sampler_script(sys.argv[1], sys.argv[2])")
  return subprocess.Popen([sys.executable, "-c", code, url, path], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)


def run_sampler_script(url, path):
  """Body of the subprocess killed by the test below: 40 samples, 2 in flight."""
  examples = [make_example(i) for i in range(10)]
  jobs = example_jobs(examples, VARIANTS["reasoning"], "fault-model",
                      SamplingConfig(num_samples=4, temperature=0.9))
  config = ClientConfig(base_urls=(url,), model="fault-model", api_key_env=None,
                        concurrency_per_server=2)
  with SampleStore(path) as store:
    stats = sample_jobs(config, store, jobs, progress=False)
  print(f"sampled {stats.sampled} already {stats.already_stored}", flush=True)


def _settled_count(requests, quiet_s: float = 0.5, timeout_s: float = 10.0) -> int:
  """len(requests()) once it has not changed for `quiet_s`."""
  n, t0 = len(requests()), time.time()
  last = t0
  while time.time() - t0 < timeout_s and time.time() - last < quiet_s:
    time.sleep(0.05)
    m = len(requests())
    if m != n:
      n, last = m, time.time()
  return n


def test_kill_9_during_sampling_then_rerun(tmp_path):
  path = str(tmp_path / "s.jsonl")
  with FaultServer(ok_delay_s=0.05) as fs:
    proc = _sampler_proc(fs.url, path)
    deadline = time.time() + 60
    while time.time() < deadline:
      if os.path.exists(path) and sum(1 for _ in open(path, "rb")) >= 15:
        break
      time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with SampleStore(path, readonly=True) as st:
      survived = len(st)
    assert 15 <= survived < 40
    before = _settled_count(fs.chat_requests)  # a request in flight at the kill may land late
    proc = _sampler_proc(fs.url, path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert out.strip() == f"sampled {40 - survived} already {survived}"
    assert len(fs.chat_requests()) - before == 40 - survived  # finished work is not redone
  with SampleStore(path, readonly=True) as st:
    assert len(st) == 40 and st.duplicates == 0
    keys = {(s.key.example_id, s.key.sample_index) for s in st.samples()}
    assert keys == {(f"ex{i}", m) for i in range(10) for m in range(4)}
    assert all(s.text == ok_text(s.seed) for s in st.samples())


def test_seed_is_stable_and_distinct():
  k = SampleKey("ex1", "reasoning", "m", 0.7, 0)
  assert derive_seed(k) == derive_seed(SampleKey("ex1", "reasoning", "m", 0.7, 0))
  seeds = {derive_seed(SampleKey("ex1", "reasoning", "m", 0.7, i)) for i in range(100)}
  assert len(seeds) == 100 and all(0 <= s < 2 ** 31 for s in seeds)
  assert derive_seed(k, base_seed=1) != derive_seed(k)
