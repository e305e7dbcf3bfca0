"""Reasoning metrics against the libraries' own single-pair results and the measured facts."""
import subprocess
import sys

import pytest

from recsaver_t5x.eval import reasoning_metrics as rmx
from recsaver_t5x.eval.reasoning_metrics import Candidate, ReasoningScorer, ScorerConfig

REFS = {
    "e1": ["The user loves moisturizing creams and rated similar hydrating products highly.",
           "Past reviews praise gentle, fragrance-free skin care, so this cream fits their taste.",
           "They dislike greasy lotions but enjoy light hydrating formulas."],
    "e2": ["The user prefers thrillers with strong plots and was let down by slow dramas."],
    "e3": [],
}
CANDS = [
    Candidate("e1", "The user enjoys hydrating creams that are gentle and fragrance free.", 5, 5),
    Candidate("e1", "This user seems to like light formulas and dislikes greasy products.", 5, 4, 1),
    Candidate("e1", "", 5, None, 2),
    Candidate("e2", "They like thrillers with a gripping plot; slow dramas disappoint them.", 2, 2),
    Candidate("e3", "No references for this one.", 3, 3),
]


@pytest.fixture(scope="module")
def scorer():
  return ReasoningScorer(ScorerConfig(bertscore_model="minilm", chunk_candidates=2))


def test_meteor_fact_with_debian_wordnet(scorer):
  # Measured with WordNet 3.0 from Debian (scripts/setup_wordnet.sh): reference first.
  assert scorer.meteor("the cat was sitting on the mats", ["the cat sat on the mat"]) == \
      pytest.approx(0.793, abs=5e-4)


def test_text_metrics_multi_reference_rules(scorer):
  import sacrebleu
  from nltk.translate.meteor_score import meteor_score
  from rouge_score import rouge_scorer
  rouge = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
  report = scorer.score(CANDS, REFS)
  by_key = {(r.example_id, r.sample_index): r for r in report.rows}
  for c in CANDS[:4]:
    row, refs = by_key[(c.example_id, c.sample_index)], REFS[c.example_id]
    # BLEU: sacrebleu's multi-reference sentence BLEU, on 0..1.
    assert row.bleu == pytest.approx(sacrebleu.sentence_bleu(c.text, refs).score / 100)
    # ROUGE-1 F1 and METEOR: max over single references.
    assert row.rouge1_f1 == pytest.approx(max(rouge.score(r, c.text)["rouge1"].fmeasure for r in refs))
    assert row.meteor == pytest.approx(max(
        meteor_score([rmx.tokenize(r)], rmx.tokenize(c.text)) for r in refs))
    assert row.n_references == len(refs)
  empty = by_key[("e1", 2)]
  assert (empty.bleu, empty.rouge1_f1, empty.meteor, empty.bertscore_f1) == (0, 0, 0, 0)


def test_bertscore_matches_bert_score_per_pair(scorer):
  import bert_score
  model = rmx.resolve_bertscore_model("minilm")
  report = scorer.score(CANDS, REFS)
  for row, c in zip(report.rows, [c for c in CANDS if REFS[c.example_id]]):
    assert (row.example_id, row.sample_index) == (c.example_id, c.sample_index)  # input order
    if not c.text:
      continue
    refs = REFS[c.example_id]
    _, _, f1 = bert_score.score([c.text] * len(refs), refs, model_type=model.path, num_layers=6)
    assert row.bertscore_f1 == pytest.approx(float(f1.max()), abs=1e-4)
    assert row.bertscore_model == model.label == report.bertscore_model
  assert "all-MiniLM-L6-v2" in report.bertscore_model and "layer 6" in report.bertscore_model


def test_each_distinct_sentence_embedded_once(scorer, monkeypatch):
  import bert_score.utils
  embedded = []
  real = bert_score.utils.get_bert_embedding

  def counting(all_sens, *a, **k):
    embedded.extend(all_sens)
    return real(all_sens, *a, **k)

  monkeypatch.setattr(bert_score.utils, "get_bert_embedding", counting)
  # 5 candidates of one example (chunk size 2 must not split the example), 3 shared refs.
  cands = [Candidate("e1", f"The user likes creams, variant {i}.", sample_index=i) for i in range(5)]
  scorer.score(cands, REFS)
  assert sorted(embedded) == sorted(set(REFS["e1"]) | {c.text for c in cands})


def test_breakdown_table_and_exclusions(scorer):
  report = scorer.score(CANDS, REFS)
  s = report.summary()
  assert report.no_references == ("e3",)
  assert s["all"]["n"] == 4 and s["all"]["n_no_references"] == 1
  assert s["correct"]["n"] == 2 and s["incorrect"]["n"] == 2  # unparsed (None) counts as incorrect
  correct = [r for r in report.rows if r.correct]
  assert s["correct"]["meteor"] == pytest.approx(sum(r.meteor for r in correct) / 2)
  table = report.table()
  assert "| Correct | 2 |" in table and "| Incorrect | 2 |" in table
  assert report.bertscore_model in table and "excluded): 1" in table


def test_report_of_whole_answers(scorer):
  out = rmx.reasoning_report(
      [Candidate("e2", "### Reason ###\nThey like thrillers with a gripping plot.\n### Rating ###\n4")],
      REFS, scorer).summary()["all"]
  assert set(out) >= {"bleu", "rouge1_f1", "meteor", "bertscore_f1", "n"}
  assert 0 < out["bertscore_f1"] <= 1


def test_unknown_metric_and_model_are_user_errors(tmp_path):
  from recsaver_t5x.errors import UserFacingError
  with pytest.raises(UserFacingError, match="unknown reasoning metric"):
    ScorerConfig(metrics=("bleu", "cider"))
  with pytest.raises(UserFacingError, match="nothing is downloaded"):
    rmx.resolve_bertscore_model("no-such-org/no-such-model")


def test_missing_wordnet_names_the_fix(tmp_path):
  code = ("import nltk; nltk.data.path[:] = [%r]\n"
          "from recsaver_t5x.errors import UserFacingError\n"
          "from recsaver_t5x.eval.reasoning_metrics import load_wordnet\n"
          "try:\n  load_wordnet()\nexcept UserFacingError as e:\n  print(e)\n") % str(tmp_path)
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONPATH": str(rmx.__file__).rsplit("/recsaver_t5x/", 1)[0],
                            "NLTK_DATA": str(tmp_path)})
  assert "scripts/setup_wordnet.sh" in out.stdout and "wordnet-base" in out.stdout


def test_cli_scores_candidates_and_feeds_alignment(tmp_path, capsys):
  import json
  from recsaver_t5x import cli
  refs_path = tmp_path / "refs.jsonl"
  with open(refs_path, "w") as f:
    for eid, rating in (("e1", 5), ("e2", 2), ("e3", 3)):
      f.write(json.dumps({"example_id": eid, "rating": rating, "references": REFS[eid],
                          "unverified_references": REFS[eid] + ["The user likes things."]}) + "\n")
  cands = tmp_path / "cands.jsonl"
  with open(cands, "w") as f:
    for c in CANDS:
      f.write(json.dumps({"example_id": c.example_id, "sample_index": c.sample_index,
                          "text": f"### Reason ###\n{c.text}\n### Rating ###\n"
                                  f"{c.predicted_rating if c.predicted_rating else 'n/a'}"}) + "\n")
  out = tmp_path / "out"
  assert cli.main(["reasoning-metrics", "--references", str(refs_path), "--candidates", str(cands),
                   "--metrics", "bleu,rouge1_f1,meteor", "--out", str(out)]) == 0
  text = capsys.readouterr().out
  assert "| Correct | 2 | " in text and "excluded): 1" in text
  rows = [json.loads(l) for l in (out / "reasoning_metrics.jsonl").read_text().splitlines()]
  assert len(rows) == 4 and rows[0]["bertscore_f1"] is None
  assert rows[0]["meteor"] == pytest.approx(max(
      __import__("nltk").translate.meteor_score.meteor_score(
          [rmx.tokenize(r)], rmx.tokenize(CANDS[0].text)) for r in REFS["e1"]))
  # The per-candidate file is the alignment command's metrics input.
  ann = tmp_path / "ann.csv"
  ann.write_text("annotator,example_id,sample_index,coherence,faithfulness,insightfulness\n"
                 + "".join(f"{a},{r['example_id']},{r['sample_index']},{(i + k) % 5 + 1},"
                           f"{(i + k) % 2},{(2 * i + k) % 5 + 1}\n"
                           for i, r in enumerate(rows) for k, a in enumerate(("x", "y"))))
  assert cli.main(["alignment", str(ann), "--metrics", str(out / "reasoning_metrics.jsonl")]) == 0
  assert "| METEOR |" in capsys.readouterr().out


@pytest.mark.skipif(not __import__("os").path.isfile("/usr/share/wordnet/data.noun"),
                    reason="Debian wordnet-base not installed (scripts/setup_wordnet.sh installs it)")
def test_setup_wordnet_script_is_idempotent_and_gives_meteor_fact(tmp_path):
  import os
  import pathlib
  script = pathlib.Path(rmx.__file__).resolve().parents[2] / "scripts" / "setup_wordnet.sh"
  data = tmp_path / "nltk_data"
  for _ in range(2):  # idempotent: the second run changes nothing
    subprocess.run(["bash", str(script), str(data)], check=True, capture_output=True)
  lexnames = (data / "corpora" / "wordnet" / "lexnames").read_text().splitlines()
  assert len(lexnames) == 45 and lexnames[0] == "00\tadj.all\t3" and lexnames[44] == "44\tadj.ppl\t3"
  code = ("import nltk; nltk.data.path[:] = [%r]\n"
          "from nltk.translate.meteor_score import meteor_score\n"
          "print(round(meteor_score([['the','cat','sat','on','the','mat']], "
          "['the','cat','was','sitting','on','the','mats']), 3))\n") % str(data)
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "NLTK_DATA": str(data)})
  assert out.stdout.strip() == "0.793"


def test_evaluate_predictions_keep_true_and_predicted_ratings_apart(tmp_path):
  """`recsaver evaluate` writes the predicted rating as "rating" next to "true_rating"."""
  import json as _json
  from recsaver_t5x.recsaver import reasoning_metrics_cli
  path = tmp_path / "predictions.jsonl"
  rows = [{"example_id": "a", "true_rating": 2, "rating": 5,
           "text": "### Reason ###\nloud and brash\n### Rating ###\n5"},
          {"example_id": "b", "true_rating": 4, "rating": None, "text": "garbled"}]
  path.write_text("".join(_json.dumps(r) + "\n" for r in rows))
  a, b = reasoning_metrics_cli._candidates_from_file(str(path), {})
  assert (a.true_rating, a.predicted_rating) == (2, 5)
  assert rmx.reasoning_text(a.text) == "loud and brash"
  assert (b.true_rating, b.predicted_rating) == (4, None)
