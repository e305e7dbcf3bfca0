"""The three reasoning-metric entry points (SeqIO metric fn, `recsaver evaluate --references`,
`recsaver reasoning-metrics`) are thin callers of `reasoning_report`: same outputs, same numbers."""
import json

import pytest
import sacrebleu

from recsaver_t5x import cli
from recsaver_t5x.eval import reasoning_metrics as rmx

REFS = {"a": ["the user likes gentle creams for dry skin"], "b": [],
        "c": ["bold colours please her", "she wants strong colours"]}
OUTPUTS = {"a": "### Reason ###\nthe user likes gentle creams\n### Rating ###\n4",
           "b": "### Rating ###\n2",
           "c": "she wants bold colours"}  # no header: the whole text is the reasoning
METRICS = ("bleu", "rouge1_f1")


@pytest.fixture(name="refs_file")
def _refs_file(tmp_path):
  path = tmp_path / "references.jsonl"
  path.write_text("".join(json.dumps({"example_id": e, "rating": 4, "references": r,
                                      "unverified_references": r}) + "\n"
                          for e, r in REFS.items()))
  return path


def test_entry_points_agree(refs_file, tmp_path):
  from recsaver_t5x.tasks import metrics
  from recsaver_t5x.trainer import evaluate_lib
  scorer = rmx.ReasoningScorer(rmx.ScorerConfig(metrics=METRICS))
  seqio_out = metrics.reasoning_metric_fn(REFS, scorer)(
      [{"example_id": e, "rating": 4} for e in OUTPUTS],
      [metrics.postprocess(t) for t in OUTPUTS.values()])

  preds = [evaluate_lib.Prediction(e, "d", 4, t, 4, None, (0.2,) * 5, False)
           for e, t in OUTPUTS.items()]
  eval_out = evaluate_lib.reasoning_report(preds, str(refs_file),
                                           rmx.ScorerConfig(metrics=METRICS)).summary()["all"]

  cands = tmp_path / "cands.jsonl"
  cands.write_text("".join(json.dumps({"example_id": e, "text": t}) + "\n"
                           for e, t in OUTPUTS.items()))
  assert cli.main(["reasoning-metrics", "--references", str(refs_file), "--candidates", str(cands),
                   "--metrics", ",".join(METRICS), "--out", str(tmp_path / "out")]) == 0
  cli_out = json.loads((tmp_path / "out" / "reasoning_metrics.json").read_text())["summary"]["all"]

  # independent reference: sacrebleu on the reasoning parts, averaged over a and c
  want_bleu = (sacrebleu.sentence_bleu("the user likes gentle creams", REFS["a"]).score
               + sacrebleu.sentence_bleu("she wants bold colours", REFS["c"]).score) / 200
  for out in (seqio_out, eval_out, cli_out):
    assert out["n"] == 2
    assert out["bleu"] == pytest.approx(want_bleu)
    assert out["rouge1_f1"] == pytest.approx(seqio_out["rouge1_f1"])
  assert seqio_out["n_no_reference"] == 1 and cli_out["n_no_references"] == 1


def test_reasoning_text_is_the_explanation_or_the_whole_answer():
  assert rmx.reasoning_text(OUTPUTS["a"]) == "the user likes gentle creams"
  assert rmx.reasoning_text(OUTPUTS["c"]) == "she wants bold colours"
