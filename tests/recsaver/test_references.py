"""Algorithm 1 (explain, clean, self-verify): bookkeeping on a scripted loopback teacher, and
the leakage filter + verification loop on real output of the embedded llama.cpp teacher."""
import dataclasses
import json

import pytest

from recsaver_t5x import cli
from recsaver_t5x.eval import references_file
from recsaver_t5x.recsaver import prompts
from recsaver_t5x.recsaver import references as refs
from recsaver_t5x.recsaver.leakage import leak_reason, split_sentences
from recsaver_t5x.teacher.client import ClientConfig
from recsaver_t5x.teacher.store import SampleStore

from tests.recsaver.conftest import beauty_example
from tests.recsaver.scripted_teacher import ScriptedTeacher


def _examples():
  return [beauty_example("ok", 5, "praise"), beauty_example("rejected", 2, "praise"),
          beauty_example("empty", 3, "empty"), beauty_example("unsure", 1, "unsure")]


def test_prompts_give_the_rating_only_to_the_explanation_step():
  ex = beauty_example("e", 4)
  explain = prompts.explain_prompt(ex).text
  assert "The user rated the new product 4." in explain and "### Reason ###" in explain
  assert "### Past User History: ###" in explain and "### New Item Information: ###" in explain
  verify = prompts.verify_prompt(ex, "They like fragrance-free hair care.").text
  assert "rated the new" not in verify and "### Rating ###" in verify
  assert "### Explanation: ###\nThey like fragrance-free hair care." in verify
  assert prompts.extract_explanation("### Reason ###\nA.\nB.\n### Rating ###\n4") == "A.\nB."
  assert prompts.extract_explanation("**### Reason ###**\nOnly text") == "Only text"


def test_algorithm1_statuses_resume_and_summary(tmp_path):
  cfg = refs.ReferenceConfig(num_explanations=2, temperature=0.7)
  store_path = str(tmp_path / "store.jsonl")
  with ScriptedTeacher() as teacher:
    config = ClientConfig(base_urls=(teacher.url,), model="scripted", api_key_env=None,
                          max_retries=0)
    with SampleStore(store_path) as store:  # first run: half the examples
      refs.generate(config, store, _examples()[:2], cfg, progress=False)
    first_calls = len(teacher.prompts)
    assert first_calls == 2 * 2 + 2 * 2  # N explanations + N verifications per example
    with SampleStore(store_path) as store:  # resumed: only the new examples are asked
      records = refs.generate(config, store, _examples(), cfg, progress=False)
    assert len(teacher.prompts) - first_calls == 2 * 2 + 2  # "empty": no verification call
    with SampleStore(store_path) as store:  # again: nothing to do, same result
      again = refs.generate(config, store, _examples(), cfg, progress=False)
    assert len(teacher.prompts) - first_calls == 6
    assert [r.to_dict() for r in again] == [r.to_dict() for r in records]
    # Verification prompts never carry the true rating or the removed sentences.
    for p in teacher.prompts:
      if "### Explanation: ###" in p:
        assert "a rating of" not in p and "rated the new" not in p and "stars" not in p

  by_id = {r.example_id: r for r in records}
  assert [a.status for a in by_id["ok"].attempts] == [refs.VERIFIED] * 2
  assert by_id["ok"].references == ["Past reviews praise gentle, fragrance-free hair care.\n"
                                    "They buy Acme often."] * 2
  removed = by_id["ok"].attempts[0].cleaned.removed
  assert [r.reason for r in removed] == ["'a rating of'"]
  assert [a.status for a in by_id["rejected"].attempts] == [refs.REJECTED] * 2
  assert by_id["rejected"].attempts[0].verify_rating == 5
  assert by_id["rejected"].references == [] and len(by_id["rejected"].unverified_references) == 2
  assert [a.status for a in by_id["empty"].attempts] == [refs.EMPTY] * 2
  assert by_id["empty"].unverified_references == []
  assert [a.status for a in by_id["unsure"].attempts] == [refs.UNPARSED] * 2
  assert by_id["unsure"].attempts[0].verify_unparsed_reason

  s = refs.summary(records)
  assert s["all"]["explanations"] == 8 and s["all"]["verified"] == 2
  assert s["by_label"]["5"]["pass_rate"] == 1.0 and s["by_label"]["2"]["pass_rate"] == 0.0
  assert s["by_label"]["4"]["pass_rate"] is None
  assert s["examples_without_references"] == ["rejected", "empty", "unsure"]
  text = refs.format_summary(s)
  assert "| All | 4 | 8 | 2 | 2 | 2 | 0.250 | 3 |" in text
  assert "0 verified references (excluded from reasoning metrics): 3 of 4: rejected, empty, unsure" in text

  out = tmp_path / "references.jsonl"
  refs.write_references(str(out), records)
  assert references_file.load_references(str(out)) == {"ok": by_id["ok"].references, "rejected": [],
                                             "empty": [], "unsure": []}
  assert len(references_file.load_references(str(out), verified=False)["rejected"]) == 2


def test_references_cli(tmp_path, capsys):
  from recsaver_t5x.data import io as data_io
  prepared = tmp_path / "prepared"
  prepared.mkdir()
  data_io.write_examples(str(prepared / "test.jsonl"), _examples())
  (prepared / "manifest.json").write_text("{}")
  out = tmp_path / "refs.jsonl"
  with ScriptedTeacher() as teacher:
    code = cli.main(["references", str(prepared), "--store", str(tmp_path / "s.jsonl"),
                     "--out", str(out), "-N", "1", "--no-progress",
                     "--teacher-base-url", teacher.url, "--teacher-model", "scripted"])
  assert code == 0
  text = capsys.readouterr().out
  assert "| 5 | 1 | 1 | 0 | 0 | 1 | 1.000 | 0 |" in text
  assert "3 of 4: rejected, empty, unsure" in text
  summary = json.loads((tmp_path / "refs.jsonl.summary.json").read_text())
  assert summary["config"]["teacher_model"] == "scripted"
  assert len(out.read_text().splitlines()) == 4


@pytest.mark.slow
def test_leakage_filter_and_verification_on_real_teacher(llama_teacher, tmp_path):
  """SmolLM2-135M is a poor teacher: the test checks the loop, not the answers' quality."""
  examples = [beauty_example("r5", 5), beauty_example("r1", 1), beauty_example("r4", 4)]
  config = ClientConfig(base_urls=(llama_teacher.url,), model=llama_teacher.spec.alias,
                        api_key_env=None, timeout_s=300)
  store_path = str(tmp_path / "store.jsonl")
  free = refs.ReferenceConfig(num_explanations=2, temperature=0.7, max_tokens=160)
  as_json = dataclasses.replace(free, verify_json=True)
  with SampleStore(store_path) as store:
    free_records = refs.generate(config, store, examples, free, progress=False)
    n_free = len(store)
    # JSON verification reuses the stored explanations: only verification calls are new.
    records = refs.generate(config, store, examples, as_json, progress=False)
    n_stored = len(store)
  n_verifiable = sum(a.status != refs.EMPTY for r in free_records for a in r.attempts)
  assert n_free == 6 + n_verifiable and n_stored == n_free + n_verifiable
  for run in (free_records, records):
    assert [len(r.attempts) for r in run] == [2, 2, 2]
    for rec, ex in zip(run, examples):
      for a in rec.attempts:
        assert a.explanation.strip()  # real text came back
        # Nothing that leaks the true rating survives cleaning ...
        for sentence, _ in split_sentences(a.cleaned.text):
          assert leak_reason(sentence, ex.true_rating) is None, sentence
        # ... and every removed sentence says why.
        assert all(r.reason and r.text for r in a.cleaned.removed)
        if a.status == refs.EMPTY:
          assert a.verify_answer is None and not a.cleaned.text
        else:
          assert a.verify_answer is not None
          assert (a.status == refs.VERIFIED) == (a.verify_rating == ex.true_rating)
          assert (a.status == refs.UNPARSED) == (a.verify_rating is None)
      assert rec.references == [a.cleaned.text for a in rec.attempts if a.status == refs.VERIFIED]
  # Grammar-constrained JSON answers always parse.
  assert all(a.status in (refs.VERIFIED, refs.REJECTED, refs.EMPTY)
             for r in records for a in r.attempts)
  s = refs.summary(records)
  assert s["all"]["explanations"] == 6
  assert s["all"]["examples_without_references"] == len(s["examples_without_references"])
  # Resumable: a rerun asks the server nothing and gives the same records.
  with SampleStore(store_path) as store:
    again = refs.generate(config, store, examples, as_json, progress=False)
    assert len(store) == n_stored
  assert [r.to_dict() for r in again] == [r.to_dict() for r in records]
  print(refs.format_summary(refs.summary(free_records)))
  print(refs.format_summary(s))
  for rec in records:
    for a in rec.attempts:
      print(f"--- {rec.example_id} (true {rec.true_rating}) #{a.sample_index}: {a.status}, "
            f"verify={a.verify_rating}\nremoved: {[r.text for r in a.cleaned.removed]}\n"
            f"cleaned: {a.cleaned.text[:300]!r}")
