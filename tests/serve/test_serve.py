"""`recsaver serve` end to end on loopback: a trained tiny student behind a real server process,
the toolkit's own teacher client and `recsaver zeroshot` against it, dynamic batching without
recompilation, validation errors, 429 on a full queue, loopback binding, graceful shutdown."""
import asyncio
import csv
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from recsaver_t5x.prompting import variants
from recsaver_t5x.answer import parse_answer, rating_probs
from recsaver_t5x.teacher.client import ChatRequest, ClientConfig, TeacherClient
from tests.serve.conftest import ServerProcess, serve_args
from tests.trainer import helpers

pytestmark = pytest.mark.slow


def _expected_text(ex) -> str:
  # What the student memorised (SentencePiece normalises the target's newlines to spaces).
  return f"### Reason ### likes {ex.example_id} things ### Rating ### {ex.true_rating}"


def _chat(client_cfg, requests):
  async def go():
    async with TeacherClient(client_cfg) as client:
      names = await client.list_models()
      return names, await asyncio.gather(*(client.chat(r) for r in requests))
  return asyncio.run(go())


def test_teacher_client_gets_memorised_answers_and_rating_probs(server, tiny_student):
  cfg = ClientConfig(base_urls=(server.url,), model="tiny", api_key_env=None,
                     concurrency_per_server=4)
  reqs = [ChatRequest(messages=variants.build_prompt(ex, "reasoning").messages, temperature=0.0,
                      max_tokens=32, logprobs=True, top_logprobs=20)
          for ex in tiny_student["examples"]]
  names, results = _chat(cfg, reqs)
  assert names == ["tiny"]
  for ex, res in zip(tiny_student["examples"], results):
    assert res.text == _expected_text(ex) and res.finish_reason == "stop"
    # the tokens of the logprobs concatenate to the text (OpenAI's contract, the parser needs it)
    assert "".join(t["token"] for t in res.logprobs) == res.text
    parsed = parse_answer(res.text)
    probs = rating_probs(res.logprobs, parsed)
    assert parsed.rating == ex.true_rating and max(range(5), key=lambda i: probs[i]) + 1 == ex.true_rating
    assert res.prompt_tokens > 0 and res.completion_tokens > 0


def test_rating_extension_matches_client_side_probabilities(server, tiny_student):
  ex = tiny_student["examples"][2]
  body = {"model": "tiny", "messages": list(variants.build_prompt(ex, "reasoning").messages),
          "temperature": 0, "max_tokens": 32, "logprobs": True, "top_logprobs": 20}
  out = httpx.post(f"{server.url}/chat/completions", json=body, timeout=120).json()
  choice = out["choices"][0]
  ext = choice["recsaver"]
  probs = [ext["rating_probabilities"][str(v)] for v in range(1, 6)]
  assert sum(probs) == pytest.approx(1.0, abs=1e-5)
  assert ext["expected_rating"] == pytest.approx(sum((i + 1) * p for i, p in enumerate(probs)))
  assert ext["predicted_rating"] == ex.true_rating and ext["marker_appended"] is False
  # The same distribution, read independently from the full-vocabulary token logprobs: the
  # renormalised digit mass at the rating token equals the 5-way softmax of the digit logits.
  client_side = rating_probs(choice["logprobs"]["content"], parse_answer(choice["message"]["content"]))
  assert client_side == pytest.approx(probs, abs=1e-4)


def test_zeroshot_over_http_with_the_real_cli(server, tiny_student, tmp_path):
  out = tmp_path / "z"
  cmd = [sys.executable, "-m", "recsaver_t5x.cli", "zeroshot", tiny_student["prepared"],
         "--out", str(out), "--variants", "reasoning", "--teacher-base-url", server.url,
         "--teacher-model", "tiny", "--logprobs", "--max-tokens", "32", "--no-progress"]
  subprocess.run(cmd, check=True, env=helpers.subprocess_env(), cwd=helpers.REPO, timeout=300,
                 capture_output=True)
  rows = {r["method"]: r for r in csv.DictReader(open(out / "zeroshot.csv"))}
  row = next(r for m, r in rows.items() if "Naive" not in m)
  assert float(row["multi_acc"]) == 1.0 and int(row["n"]) == 5 and int(row["n_with_probs"]) == 5


def test_batched_equals_one_at_a_time_and_nothing_recompiles(server, tiny_student):
  """After --warmup, requests of other lengths, n, logprobs, stop and temperatures, sent
  concurrently (so they are batched), compile nothing; greedy answers equal sequential ones."""
  before = server.stats()["compiles"]
  exs = tiny_student["examples"]
  prompts = [variants.build_prompt(ex, "reasoning").text for ex in exs]
  short = ["a short prompt", "another short one, a bit longer than that"]
  bodies = []
  for i, p in enumerate(prompts + short):
    bodies.append({"model": "tiny", "prompt": p, "temperature": 0, "max_tokens": 8 + 3 * i})
    bodies.append({"model": "tiny", "prompt": p, "temperature": 0.7, "n": 1 + i % 3,
                   "seed": i, "max_tokens": 32, "logprobs": 2 if i % 2 else None})
    bodies.append({"model": "tiny", "prompt": p, "temperature": 0, "stop": ["Rating"],
                   "max_tokens": 32})

  def post(b):
    return httpx.post(f"{server.url}/completions", json=b, timeout=300)

  sequential = [post(b) for b in bodies if b["temperature"] == 0]

  async def burst():
    async with httpx.AsyncClient(timeout=300) as c:
      return await asyncio.gather(*(c.post(f"{server.url}/completions", json=b) for b in bodies))
  concurrent = asyncio.run(burst())
  assert [r.status_code for r in sequential + list(concurrent)] == [200] * (len(sequential) + len(bodies))
  greedy_concurrent = [r for r, b in zip(concurrent, bodies) if b["temperature"] == 0]
  for a, b in zip(sequential, greedy_concurrent):
    assert [c["text"] for c in a.json()["choices"]] == [c["text"] for c in b.json()["choices"]]
  stats = server.stats()
  assert stats["compiles"] == before, stats
  assert any(int(k) > 1 for k in stats["batch_sizes"]), stats  # requests were really batched
  # stop and max_tokens are honoured
  for r, b in zip(concurrent, bodies):
    for c in r.json()["choices"]:
      if b.get("stop"):
        assert "Rating" not in c["text"]
      assert len(c["text"]) > 0 or b.get("stop") or b["max_tokens"] < 4
  first = concurrent[0].json()["choices"][0]
  assert first["finish_reason"] == "length"  # 8 tokens cut the 20-token answer


@pytest.mark.parametrize("body,status,param", [
    ({"model": "nope", "prompt": "x"}, 404, "model"),
    ({"model": "tiny"}, 400, "prompt"),
    ({"model": "tiny", "prompt": "x", "n": 0}, 400, "n"),
    ({"model": "tiny", "prompt": "x", "temperature": -1}, 400, "temperature"),
    ({"model": "tiny", "prompt": "x", "max_tokens": 10_000}, 400, "max_tokens"),
    ({"model": "tiny", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
    ({"model": "tiny", "prompt": "x", "top_p": 0.5}, 400, None),
    ({"model": "tiny", "prompt": "x", "stream": True}, 400, None),
])
def test_bad_requests_get_clear_4xx(server, body, status, param):
  r = httpx.post(f"{server.url}/completions", json=body, timeout=60)
  assert r.status_code == status, r.text
  err = r.json()["error"]
  assert err["param"] == param and err["message"]
  assert "Traceback" not in r.text


def test_bad_chat_body_and_not_json(server):
  r = httpx.post(f"{server.url}/chat/completions", json={"model": "tiny", "messages": []})
  assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
  r = httpx.post(f"{server.url}/chat/completions", content=b"{not json",
                 headers={"content-type": "application/json"})
  assert r.status_code == 400
  r = httpx.post(f"{server.url}/chat/completions",
                 json={"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]})
  assert r.status_code == 400 and "role" in r.json()["error"]["param"]


def test_full_queue_answers_429_with_retry_after(server):
  async def burst():
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=200)) as c:
      return await asyncio.gather(*(c.post(f"{server.url}/completions", json={
          "model": "tiny", "prompt": f"p{i}", "temperature": 0, "max_tokens": 32, "n": 4})
          for i in range(80)))
  res = asyncio.run(burst())
  codes = [r.status_code for r in res]
  assert set(codes) <= {200, 429} and codes.count(429) > 0 and codes.count(200) >= 8
  r429 = next(r for r in res if r.status_code == 429)
  assert r429.headers["retry-after"] == "1" and r429.json()["error"]["type"] == "rate_limit_error"


def _listening_addresses(port: int) -> set:
  addrs = set()
  for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    if not os.path.exists(table):
      continue
    for line in open(table).read().splitlines()[1:]:
      local, state = line.split()[1], line.split()[3]
      host, p = local.split(":")
      if int(p, 16) == port and state == "0A":  # LISTEN
        addrs.add(host)
  return addrs


def test_binds_loopback_only(server):
  port = int(server.url.split(":")[2].split("/")[0])
  assert server.url.startswith("http://127.0.0.1:")
  assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_graceful_shutdown_finishes_accepted_requests(tiny_student):
  s = ServerProcess(serve_args(tiny_student))
  results, errors = [], []

  def one(i):
    try:
      results.append(httpx.post(f"{s.url}/completions", json={
          "model": "tiny", "prompt": f"q{i}", "temperature": 0, "max_tokens": 32}, timeout=300))
    except httpx.HTTPError as e:  # pragma: no cover - reported by the assert below
      errors.append(e)
  threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
  for t in threads:
    t.start()
  # stop as soon as the server has the requests (they are being decoded or queued)
  for _ in range(600):
    st = s.stats()
    if st["requests"] >= 6:
      break
    time.sleep(0.02)
  in_flight = 6 - len(results)
  rc = s.stop()
  for t in threads:
    t.join()
  assert in_flight > 0  # the first batch compiles (no --warmup): requests were still open
  assert rc == 0 and not errors and [r.status_code for r in results] == [200] * 6
  with pytest.raises(httpx.TransportError):
    httpx.get(f"{s.root}/health", timeout=5)


def test_serves_a_real_t5x_checkpoint_like_t5x_decodes():
  """The public T5X's own greedy decodes (the shared fixture) come back over HTTP."""
  import numpy as np
  from tests.conftest import SHARED
  fx = SHARED / "fixtures" / "t5x_tiny"
  exp = np.load(fx / "expected.npz")
  s = ServerProcess([str(fx / "legacy" / "checkpoint_40"), "--model-config",
                     str(fx / "config.json"), "--vocabulary", str(fx / "spm.model"), "--port", "0",
                     "--max-input-length", "32", "--max-decode-length", "12",
                     "--batch-buckets", "4", "--input-buckets", "32", "--decode-buckets", "12",
                     "--model-name", "t5x_tiny"])
  try:
    r = httpx.post(f"{s.url}/completions", json={
        "model": "t5x_tiny", "prompt": [str(t) for t in exp["input_texts"]], "temperature": 0,
        "max_tokens": 12}, timeout=300)
    assert r.status_code == 200, r.text
    got = [c["text"] for c in r.json()["choices"]]
    assert got == [str(t) for t in exp["greedy_decode_texts"]]
  finally:
    assert s.stop() == 0


def test_serves_a_hugging_face_directory(tiny_student, tmp_path):
  """The tiny student saved by transformers' save_pretrained (+ spiece.model) serves the same
  memorised answers."""
  import shutil
  from recsaver_t5x.serve.student import load_student
  from recsaver_t5x.model import checkpoints
  st = load_student(tiny_student["model_dir"], vocabulary=tiny_student["spm"])
  hf_dir = tmp_path / "hf"
  checkpoints.to_hf_model(st.params, st.config).save_pretrained(str(hf_dir))
  shutil.copy(tiny_student["spm"], hf_dir / "spiece.model")
  s = ServerProcess([str(hf_dir), "--port", "0", "--max-input-length", "384",
                     "--max-decode-length", "32", "--batch-buckets", "8", "--input-buckets", "384",
                     "--decode-buckets", "32", "--model-name", "hf"])
  try:
    exs = tiny_student["examples"]
    r = httpx.post(f"{s.url}/completions", json={
        "model": "hf", "prompt": [variants.build_prompt(ex, "reasoning").text for ex in exs],
        "temperature": 0, "max_tokens": 32}, timeout=300)
    assert r.status_code == 200, r.text
    assert [c["text"] for c in r.json()["choices"]] == [_expected_text(ex) for ex in exs]
  finally:
    assert s.stop() == 0
