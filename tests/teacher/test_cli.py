"""`recsaver zeroshot` and `recsaver sample` end to end."""
import csv
import json
import os

import pytest

from recsaver_t5x import cli
from recsaver_t5x.data import io as data_io
from recsaver_t5x.teacher.store import Sample, SampleKey, SampleStore
from tests.teacher.conftest import make_example
from tests.teacher.fault_server import FaultServer, ok_text


def prepared(tmp_path, n_test=5, n_train=4):
  d = tmp_path / "prepared"
  d.mkdir()
  test = [make_example(i, rating=i % 5 + 1, n_hist=4) for i in range(n_test)]
  train = [make_example(100 + i, rating=i % 5 + 1, n_hist=4) for i in range(n_train)]
  data_io.write_examples(str(d / "test.jsonl"), test)
  data_io.write_examples(str(d / "train.jsonl"), train)
  data_io.write_json_atomic(str(d / "manifest.json"), {"config": {"domain": "all_beauty"}})
  return d, test, train


def test_zeroshot_against_an_external_server(tmp_path, monkeypatch):
  """External-URL path (nothing started); answers are deterministic in the seed."""
  d, test, train = prepared(tmp_path, n_train=10)  # seeds are derived from keys: deterministic
  out = tmp_path / "out"
  monkeypatch.delenv("RECSAVER_TEACHER_BASE_URL", raising=False)
  with FaultServer(["500"]) as fs:
    argv = ["zeroshot", str(d), "--out", str(out), "--variants", "reasoning,no_review,one_shot",
            "--teacher-base-url", fs.url, "--teacher-model", "fault-model", "--no-progress",
            "--temperature", "0.3"]
    assert cli.main(argv) == 0
    n_requests = len(fs.chat_requests())
    assert cli.main(argv) == 0  # rerun: everything is in the store
    assert len(fs.chat_requests()) == n_requests
  table = (out / "zeroshot.md").read_text()
  assert "| Naive Baseline (Avg.) |" in table and "| Our Method (zero-shot CoT) |" in table
  assert "| - No Review |" in table and "| One-shot |" in table and "One-shot demonstration: ex10" in table
  rows = list(csv.DictReader(open(out / "zeroshot.csv")))
  assert [r["method"] for r in rows] == ["Naive Baseline (Avg.)", "Our Method (zero-shot CoT)",
                                         "- No Review", "One-shot"]
  assert all(r["n"] == "5" for r in rows)
  preds = [json.loads(l) for l in open(out / "predictions.jsonl")]
  assert len(preds) == 15
  with SampleStore(str(out / "samples.jsonl"), readonly=True) as st:
    for p in preds:  # each prediction is the parse of its stored raw sample
      s = st.get(SampleKey(p["example_id"], p["variant"], "fault-model", 0.3, 0))
      assert int(ok_text(s.seed).rsplit("\n", 1)[1]) == p["predicted_rating"]
    demo_answers = [s for s in st.samples() if s.key.example_id.startswith("ex1")
                    and s.key.example_id != "ex1"]
    assert demo_answers  # the one-shot demonstration was sampled on the train split
  # The reported metrics are the shared metrics of the stored predictions.
  from recsaver_t5x.eval.rating_metrics import rating_metrics
  ours = [p for p in preds if p["variant"] == "reasoning"]
  m = rating_metrics([p["true_rating"] for p in ours], [p["predicted_rating"] for p in ours])
  assert float(rows[1]["mae"]) == pytest.approx(m["mae"])
  run = json.loads((out / "run.json").read_text())
  assert run["model"] == "fault-model" and run["base_urls"] == [fs.url]


def test_sample_cli_json_schema_and_key_never_written(tmp_path, monkeypatch):
  d, _, train = prepared(tmp_path)
  store = tmp_path / "store.jsonl"
  monkeypatch.setenv("RECSAVER_TEACHER_API_KEY", "sk-secret-value-xyz")
  with FaultServer() as fs:
    assert cli.main(["sample", str(d), "--store", str(store), "-M", "3", "-T", "0.9", "--json-schema",
                     "--teacher-base-url", fs.url, "--teacher-model", "fault-model", "--no-progress"]) == 0
    bodies = [r["body"] for r in fs.chat_requests()]
    assert fs.chat_requests()[0]["headers"]["Authorization"] == "Bearer sk-secret-value-xyz"
  assert len(bodies) == 12 and len({b["seed"] for b in bodies}) == 12
  assert bodies[0]["response_format"]["schema"]["required"] == ["reason", "rating"]
  assert "sk-secret-value-xyz" not in store.read_text()
  assert not any("sk-secret" in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())


def test_missing_model_for_external_url_is_one_line(tmp_path, capsys):
  d, _, _ = prepared(tmp_path)
  rc = cli.main(["sample", str(d), "--store", str(tmp_path / "s.jsonl"),
                 "--teacher-base-url", "http://127.0.0.1:9/v1"])
  assert rc == 2 and "needs --teacher-model" in capsys.readouterr().err


@pytest.mark.slow
def test_zeroshot_with_the_embedded_teacher(tmp_path):
  """The default path: an embedded llama.cpp server with the packaged model is started."""
  d, test, train = prepared(tmp_path, n_test=3, n_train=3)
  out = tmp_path / "out"
  # A solved training answer already in the store serves as the one-shot demonstration.
  model = "SmolLM2-135M-Instruct.Q4_1"
  with SampleStore(str(out / "samples.jsonl")) as st:
    st.put(Sample(SampleKey(train[0].example_id, "reasoning", model, 0.0, 0),
                  f"### Reason ###\nThe user likes Acme.\n### Rating ###\n{train[0].true_rating}"))
  argv = ["zeroshot", str(d), "--out", str(out), "--variants", "reasoning,no_reasoning,one_shot",
          "--max-tokens", "48", "--max-prompt-chars", "1500", "--logprobs", "--no-progress"]
  assert cli.main(argv) == 0
  rows = list(csv.DictReader(open(out / "zeroshot.csv")))
  assert [r["method"] for r in rows] == ["Naive Baseline (Avg.)", "Our Method (zero-shot CoT)",
                                         "- No Reasoning Outputs", "One-shot"]
  assert all(r["n"] == "3" for r in rows)
  assert json.loads((out / "run.json").read_text())["demo_example_id"] == train[0].example_id
  with SampleStore(str(out / "samples.jsonl"), readonly=True) as st:
    assert len(st) == 1 + 9  # the demonstration + 3 variants x 3 test examples
    assert all(s.key.model == model for s in st.samples())
    assert all(s.logprobs for s in st.samples() if s.key.example_id.startswith("ex") and s.seed)
