"""Constrained teacher output: the grammar (checked by llama.cpp's own GBNF parser), the regex
(Python's re as the reference matcher), the JSON schema, their wiring into every call kind, and
the real embedded llama.cpp server answering under each constraint."""
import asyncio
import json
import re

import pytest

from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.variants import get_variant
from recsaver_t5x.recsaver import references as refs
from recsaver_t5x.scale import RatingScale
from recsaver_t5x.teacher import constrained as cn
from recsaver_t5x.teacher.client import ClientConfig, TeacherClient
from recsaver_t5x.teacher.sampler import SamplingConfig, _sample_from, example_jobs

from .conftest import make_example

TEN = RatingScale(1, 10, 5)
GOOD = {"reason_rating": "### Reason ###\nLikes shampoo.\nAnd this one.\n### Rating ###\n{r}",
        "rating": "### Rating ###\n{r}", "reason": "### Reason ###\nLikes shampoo."}


@pytest.mark.parametrize("shape", cn.SHAPES)
@pytest.mark.parametrize("scale", [RatingScale(), TEN])
def test_regex_language_and_parser_agree(shape, scale):
  pattern = re.compile(cn.regex(shape, scale, 40))
  for r in scale.values:
    text = GOOD[shape].format(r=r)
    assert pattern.fullmatch(text)
    if shape != "reason":
      assert parse_answer(text, scale).rating == r  # every constrained answer parses
  if shape != "reason":
    assert not pattern.fullmatch(GOOD[shape].format(r=scale.high + 1))
    assert not pattern.fullmatch(GOOD[shape].format(r=0))
  if shape != "rating":
    assert not pattern.fullmatch(GOOD[shape].format(r=1).replace("Likes", "# Likes"))
    assert not pattern.fullmatch(GOOD[shape].format(r=1).replace("Likes", "x" * 40))


@pytest.mark.parametrize("shape", cn.SHAPES)
def test_gbnf_parses_in_llama_cpp(shape):
  llama_cpp = pytest.importorskip("llama_cpp")
  for scale in (RatingScale(), TEN):
    text = cn.gbnf(shape, scale, 100)
    grammar = llama_cpp.LlamaGrammar.from_string(text, verbose=False)
    assert grammar is not None
    rating_rule = [l for l in text.splitlines() if l.startswith("rating ::=")][0]
    assert rating_rule.count("|") == len(scale) - 1 and f'"{scale.high}"' in rating_rule
  with pytest.raises(ValueError):
    cn.gbnf("essay")


def test_json_schema_and_text_rewrite():
  schema = cn.json_schema("reason_rating", TEN, 300)
  assert schema["required"] == ["reason", "rating"]  # reason first: reason, then rate
  assert schema["properties"]["rating"]["enum"] == list(range(1, 11))
  assert schema["properties"]["reason"]["maxLength"] == 300
  text = cn.to_study_text(json.dumps({"reason": " Likes it. ", "rating": 7}))
  assert text == "### Reason ###\nLikes it.\n### Rating ###\n7"
  assert parse_answer(text, TEN).rating == 7
  assert cn.to_study_text('{"rating": 2}') == "### Rating ###\n2"
  assert cn.to_study_text("### Reason ###\nfree text") is None
  assert cn.to_study_text('{"other": 1}') is None


def test_server_kind_and_auto_mode():
  assert cn.server_kind({"data": [{"id": "m", "owned_by": "vllm"}]}) == "vllm"
  assert cn.server_kind({"data": [{"id": "m", "owned_by": "me"}]}) == "llama.cpp"
  assert cn.server_kind({"data": [{"id": "m", "owned_by": "llamacpp"}]}) == "llama.cpp"
  assert cn.server_kind({"data": [{"id": "gpt", "owned_by": "openai"}]}) == "other"
  assert cn.server_kind("garbage") == "other"
  assert cn.resolve_mode("auto", "llama.cpp") == "grammar"
  assert cn.resolve_mode("auto", "vllm") == "regex"
  assert cn.resolve_mode("auto", "other") == "json"
  assert cn.resolve_mode("off", "llama.cpp") is None
  assert cn.resolve_mode("json", "llama.cpp") == "json"


def test_reason_always_leaves_room_for_the_rating():
  assert cn.max_reason_chars(512) == 488
  c = cn.Constraint.for_tokens("grammar", "reason_rating", 64)
  assert "{0,39}" in c.request_fields()["grammar"]  # 40 chars <= 64 - 24 tokens


def test_every_call_kind_sends_its_shape():
  """zero-shot (reasoning and rating-only variants), samples, explanations, verification."""
  exs = [make_example(i, rating=(i % 5) + 1) for i in range(2)]
  free = example_jobs(exs, get_variant("reasoning"), "m", SamplingConfig())
  cfg = SamplingConfig(constrained="grammar", max_tokens=100)
  reasoning = example_jobs(exs, get_variant("reasoning"), "m", cfg)
  no_reasoning = example_jobs(exs, get_variant("no_reasoning"), "m", cfg)
  body = reasoning[0].request.payload("m")
  assert body["grammar"] == cn.gbnf("reason_rating", reason_chars=cn.max_reason_chars(100))
  assert body["grammar"].startswith('root ::= "### Reason ###\\n" reason "\\n### Rating ###')
  assert no_reasoning[0].request.payload("m")["grammar"].startswith('root ::= "### Rating ###')
  assert "grammar" not in free[0].request.payload("m")
  # a constrained prompt has its own store identity; the sample records its constraint
  assert reasoning[0].prompt_sha256 != free[0].prompt_sha256
  assert reasoning[0].key == free[0].key and reasoning[0].extra["constrained"] == "grammar"
  vllm = example_jobs(exs, get_variant("reasoning"), "m", SamplingConfig(constrained="regex"))
  body = vllm[0].request.payload("m")
  assert body["structured_outputs"]["regex"] == body["guided_regex"]
  rcfg = refs.ReferenceConfig(num_explanations=1, constrained="json", scale=TEN)
  explain = refs.explain_jobs(exs, "m", rcfg)
  fmt = explain[0].request.payload("m")["response_format"]
  assert fmt["schema"]["required"] == ["reason"]
  assert rcfg.verify_variant.endswith("+json")


def test_json_answers_are_stored_in_the_study_format(tmp_path):
  exs = [make_example(0)]
  job = example_jobs(exs, get_variant("reasoning"), "m", SamplingConfig(constrained="json"))[0]

  class Result:  # the fields of a ChatResult the sampler reads
    text = '{"reason": "Likes Acme.", "rating": 4}'
    finish_reason, model, prompt_tokens, completion_tokens = "stop", "m", 10, 5
    logprobs, latency_s = None, 0.1
  sample = _sample_from(job, Result())
  assert sample.text == "### Reason ###\nLikes Acme.\n### Rating ###\n4"
  assert sample.extra["raw_text"] == Result.text and parse_answer(sample.text).rating == 4


# --------------------------------------------------------- the real embedded server -------
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["grammar", "json"])
def test_embedded_server_answers_parse_under_constraint(llama_server, mode):
  """SmolLM2 on llama.cpp: every constrained answer is in the language and parses."""
  exs = [make_example(i, rating=(i % 5) + 1) for i in range(3)]
  cfg = SamplingConfig(constrained=mode, max_tokens=64, temperature=0.7)
  jobs = example_jobs(exs, get_variant("reasoning"), "m", cfg)
  jobs += example_jobs(exs[:1], get_variant("no_reasoning"), "m", cfg)
  config = ClientConfig(base_urls=(llama_server.url,), model="m", api_key_env=None)

  async def go():
    async with TeacherClient(config) as client:
      return await asyncio.gather(*(client.chat(j.request) for j in jobs))
  results = asyncio.run(go())
  for job, result in zip(jobs, results):
    text = _sample_from(job, result).text
    shape = "reason_rating" if job.key.variant == "reasoning" else "rating"
    assert re.fullmatch(cn.regex(shape, reason_chars=cn.max_reason_chars(64)), text), text
    assert parse_answer(text).rating in range(1, 6)
