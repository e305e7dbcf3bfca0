"""Client fault handling against a real HTTP server on 127.0.0.1 that injects faults."""
import asyncio
import logging

import pytest

from recsaver_t5x.teacher.client import (ChatRequest, ClientConfig, TeacherClient, TeacherConfigError,
                                         TeacherError, chat_many)
from tests.teacher.fault_server import FaultServer, ok_text

MSG = ({"role": "user", "content": "hi"},)


def config(url, **kw):
  base = dict(model="fault-model", api_key_env=None, max_retries=4, backoff_base_s=0.01,
              backoff_max_s=0.05, timeout_s=5.0)
  base.update(kw)
  return ClientConfig(base_urls=(url,), **base)


def chat(cfg, req=ChatRequest(MSG, seed=7)):
  async def go():
    async with TeacherClient(cfg) as c:
      return await c.chat(req), dict(c.stats)
  return asyncio.run(go())


@pytest.mark.parametrize("fault", ["500", "502", "503", "429", "drop", "garbage", "truncated"])
def test_transient_fault_is_retried(fault):
  with FaultServer([fault, fault]) as fs:
    result, stats = chat(config(fs.url))
  assert result.text == ok_text(7)
  assert result.attempts == 3
  assert stats["retries"] == 2
  assert len(fs.chat_requests()) == 3


def test_timeout_is_retried():
  with FaultServer(["slow"], slow_s=1.5) as fs:
    result, _ = chat(config(fs.url, timeout_s=0.3))
  assert result.text == ok_text(7) and result.attempts == 2


def test_gives_up_after_max_retries_with_last_error():
  with FaultServer(["500"] * 10) as fs:
    with pytest.raises(TeacherError, match=r"after 3 attempts.*HTTP 500"):
      chat(config(fs.url, max_retries=2))
    assert len(fs.chat_requests()) == 3


def test_connection_refused_is_a_clear_error():
  with FaultServer() as fs:
    url = fs.url
  with pytest.raises(TeacherError, match="connection error"):
    chat(config(url, max_retries=1))


def test_401_fails_at_once_and_never_shows_the_key(monkeypatch, caplog):
  secret = "sk-test-SECRET-1234567890"
  monkeypatch.setenv("MY_TEACHER_KEY", secret)
  caplog.set_level(logging.DEBUG)
  with FaultServer(["401"]) as fs:
    cfg = config(fs.url, api_key_env="MY_TEACHER_KEY")
    with pytest.raises(TeacherConfigError) as err:
      chat(cfg)
    assert len(fs.chat_requests()) == 1  # not retried
    assert fs.chat_requests()[0]["headers"]["Authorization"] == f"Bearer {secret}"
  msg = str(err.value)
  assert "HTTP 401" in msg and "MY_TEACHER_KEY" in msg
  assert secret not in msg and "***" in msg  # the server echoed it; the client scrubbed it
  assert secret not in repr(TeacherClient(cfg)) and secret not in repr(cfg)
  assert secret not in caplog.text


def test_404_names_the_model_and_the_fix():
  with FaultServer(["404"]) as fs:
    with pytest.raises(TeacherConfigError, match=r"HTTP 404 for model 'fault-model'.*ends in /v1"):
      chat(config(fs.url))
    assert len(fs.chat_requests()) == 1


def test_400_is_not_retried():
  with FaultServer(["400"]) as fs:
    with pytest.raises(TeacherError, match="context length exceeded"):
      chat(config(fs.url))
    assert len(fs.chat_requests()) == 1


def test_list_models_checks_key_and_reachability():
  async def models(cfg):
    async with TeacherClient(cfg) as c:
      return await c.list_models()
  with FaultServer(["ok", "401"]) as fs:
    assert asyncio.run(models(config(fs.url))) == ["fault-model"]
    with pytest.raises(TeacherConfigError, match="401"):
      asyncio.run(models(config(fs.url)))


def test_payload_has_distinct_seeds_and_options():
  reqs = [ChatRequest(MSG, temperature=0.7, seed=s, max_tokens=33, logprobs=True, top_logprobs=3,
                      response_format={"type": "json_object"}) for s in (1, 2, 3)]
  with FaultServer() as fs:
    results = asyncio.run(chat_many(config(fs.url), reqs))
    bodies = [r["body"] for r in fs.chat_requests()]
  assert [r.text for r in results] == [ok_text(s) for s in (1, 2, 3)]
  assert sorted(b["seed"] for b in bodies) == [1, 2, 3]
  b = bodies[0]
  assert b["temperature"] == 0.7 and b["max_tokens"] == 33 and b["logprobs"] is True
  assert b["top_logprobs"] == 3 and b["response_format"] == {"type": "json_object"}
  assert "n" not in b  # M samples are M requests, never n>1


def test_concurrency_is_bounded_per_server():
  """6 slow requests over 2 servers x 1 slot: one in flight per server, both servers used."""
  with FaultServer(ok_delay_s=0.3) as a, FaultServer(ok_delay_s=0.3) as b:
    cfg = ClientConfig(base_urls=(a.url, b.url), model="m", api_key_env=None)
    reqs = [ChatRequest(MSG, seed=s) for s in range(6)]
    results = asyncio.run(chat_many(cfg, reqs))
  assert len(a.chat_requests()) + len(b.chat_requests()) == 6
  assert {r.server for r in results} == {a.url, b.url}
  assert a.max_in_flight == 1 and b.max_in_flight == 1


def test_retry_moves_to_another_server():
  with FaultServer(["500"] * 50) as bad, FaultServer() as good:
    cfg = ClientConfig(base_urls=(bad.url, good.url), model="m", api_key_env=None,
                       backoff_base_s=0.01, max_retries=12)
    results = asyncio.run(chat_many(cfg, [ChatRequest(MSG, seed=s) for s in range(6)]))
  assert all(r.server == good.url for r in results)


def test_concurrency_per_server_is_the_bound():
  with FaultServer(ok_delay_s=0.5) as fs:
    cfg = ClientConfig(base_urls=(fs.url,), model="m", api_key_env=None, concurrency_per_server=3)
    asyncio.run(chat_many(cfg, [ChatRequest(MSG, seed=s) for s in range(9)]))
  assert fs.max_in_flight == 3


def test_total_deadline_bounds_all_retries():
  # Every attempt hangs past its timeout; without the deadline this takes 5 x 1.0 s plus back-off.
  import time
  with FaultServer(["slow"] * 10, slow_s=3.0) as fs:
    t0 = time.monotonic()
    with pytest.raises(TeacherError, match=r"total deadline of 1.5 s \(--request-deadline\)") as e:
      chat(config(fs.url, timeout_s=1.0, max_retries=4, deadline_s=1.5))
    took = time.monotonic() - t0
  assert took < 2.5, took
  assert "last error" in str(e.value) and len(fs.chat_requests()) <= 2


def test_deadline_starts_when_a_slot_is_free():
  # Four requests share one slot; each answers in 0.3 s, so the last waits 0.9 s in the queue,
  # longer than its 0.6 s deadline, and still succeeds.
  with FaultServer(ok_delay_s=0.3) as fs:
    results = asyncio.run(chat_many(config(fs.url, deadline_s=0.6),
                                    [ChatRequest(MSG, seed=i) for i in range(4)]))
  assert [r.text for r in results] == [ok_text(i) for i in range(4)]


def test_request_deadline_flag_is_validated():
  from recsaver_t5x import cli
  with pytest.raises(SystemExit):
    cli.main(["sample", "/nonexistent", "--store", "/tmp/s.jsonl", "--request-deadline", "0"])
