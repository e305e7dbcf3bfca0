"""Human-alignment statistics and tables against sklearn/scipy on random data; input errors."""
import csv
import json

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score

from recsaver_t5x import cli
from recsaver_t5x.errors import InputError
from recsaver_t5x.recsaver import alignment, stats


@pytest.mark.parametrize("seed", range(6))
def test_kappa_matches_sklearn(seed):
  rng = np.random.default_rng(seed)
  a = rng.integers(1, 6, 60)
  b = np.clip(a + rng.integers(-2, 3, 60), 1, 5)
  b[:3] = 5  # some agreement structure, some not
  for w in (None, "linear", "quadratic"):
    assert stats.cohen_kappa(a, b, range(1, 6), w) == pytest.approx(
        cohen_kappa_score(a, b, weights=w, labels=[1, 2, 3, 4, 5]))
  fa, fb = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
  assert stats.cohen_kappa(fa, fb, (0, 1)) == pytest.approx(cohen_kappa_score(fa, fb))


def test_kappa_uses_the_full_scale():
  # Only 1, 2 and 5 observed: quadratic distances still come from the 1..5 scale.
  a, b = [1, 2, 5, 5, 2], [2, 2, 5, 1, 1]
  assert stats.cohen_kappa(a, b, range(1, 6), "quadratic") == pytest.approx(
      cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]))
  assert np.isnan(stats.cohen_kappa([3, 3], [3, 3], range(1, 6), "quadratic"))


@pytest.mark.parametrize("seed", range(6))
def test_correlations_and_ttests_match_scipy(seed):
  rng = np.random.default_rng(100 + seed)
  x = rng.integers(1, 6, 40).astype(float)  # Likert: many ties
  y = x + rng.normal(0, 1.5, 40)
  s = stats.spearman(x, y)
  ref = sps.spearmanr(x, y)
  assert (s.rho, s.p) == pytest.approx((ref.statistic, ref.pvalue))
  p = stats.pearson(x, y)
  ref = sps.pearsonr(x, y)
  assert (p.rho, p.p) == pytest.approx((ref.statistic, ref.pvalue))
  a, b = rng.normal(0.5, 1, 25), rng.normal(0, 2, 17)
  for equal_var in (True, False):
    t = stats.ttest_ind(a, b, equal_var=equal_var)
    ref = sps.ttest_ind(a, b, equal_var=equal_var)
    assert (t.t, t.p) == pytest.approx((ref.statistic, ref.pvalue))
  assert np.isnan(stats.spearman([1, 1, 1, 1], [1, 2, 3, 4]).rho)
  assert np.isnan(stats.ttest_ind([1.0], [2.0, 3.0]).p)


def _random_study(seed, n_items=40, annotators=("ann_a", "ann_b", "ann_c")):
  rng = np.random.default_rng(seed)
  quality = rng.normal(0, 1, n_items)
  anns, metric_rows, unverified = [], [], []
  for i in range(n_items):
    correct = bool(rng.integers(0, 2))
    for a in annotators:
      if rng.random() < 0.1:  # not every annotator sees every item
        continue
      coh = int(np.clip(round(3 + quality[i] + rng.normal(0, 0.7)), 1, 5))
      ins = int(np.clip(round(3 + 0.5 * quality[i] + rng.normal(0, 1)), 1, 5))
      faith = int(quality[i] + rng.normal(0, 0.8) > -0.3)
      anns.append({"annotator": a, "example_id": f"ex{i}", "coherence": coh,
                   "faithfulness": faith, "insightfulness": ins,
                   "error_types": "hallucination;generic" if faith == 0 else "",
                   "correct": int(correct)})
    base = 0.3 + 0.05 * quality[i]
    metric_rows.append({"example_id": f"ex{i}", "bleu": base / 5 + rng.normal(0, .02),
                        "rouge1_f1": base + rng.normal(0, .05),
                        "meteor": base + rng.normal(0, .05),
                        "bertscore_f1": 0.8 + base / 10 + rng.normal(0, .01),
                        "bertscore_model": "all-MiniLM-L6-v2, layer 6"})
    unverified.append({k: (v + rng.normal(0, .1) if isinstance(v, float) else v)
                       for k, v in metric_rows[-1].items()})
  return anns, metric_rows, unverified


def _write_csv(path, rows):
  with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
  return str(path)


def _write_jsonl(path, rows):
  with open(path, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
  return str(path)


def _item_means(anns):
  out = {}
  for r in anns:
    out.setdefault(r["example_id"], []).append(r)
  return {k: {d: np.mean([r[d] for r in v]) for d in alignment.DIMENSIONS} for k, v in out.items()}


def test_tables_match_sklearn_scipy(tmp_path):
  anns, mrows, unver = _random_study(7)
  annotations = alignment.read_annotations(_write_csv(tmp_path / "ann.csv", anns))
  metrics = alignment.read_metric_rows(_write_jsonl(tmp_path / "m.jsonl", mrows))
  unverified = alignment.read_metric_rows(_write_csv(tmp_path / "u.csv", unver))
  tables = {t.title.split(":")[0]: t for t in
            alignment.alignment_tables(annotations, metrics, unverified)}
  assert list(tables) == ["Table 6", "Table 7", "Table 8", "Table 9", "Table 13", "Error types"]

  # Table 6: kappa and rho are means over annotator pairs on shared items.
  by = {(r["annotator"], r["example_id"]): r for r in anns}
  for row in tables["Table 6"].rows:
    dim = row[0]
    kappas, rhos = [], []
    for x, y in (("ann_a", "ann_b"), ("ann_a", "ann_c"), ("ann_b", "ann_c")):
      shared = sorted(e for (a, e) in by if a == x and (y, e) in by)
      u, v = [by[(x, e)][dim] for e in shared], [by[(y, e)][dim] for e in shared]
      if dim == "faithfulness":
        kappas.append(cohen_kappa_score(u, v))
      else:
        kappas.append(cohen_kappa_score(u, v, weights="quadratic", labels=[1, 2, 3, 4, 5]))
      rhos.append(sps.spearmanr(u, v).statistic)
    assert row[1] == pytest.approx(np.mean([r[dim] for r in anns]))
    assert row[3] == pytest.approx(np.mean(kappas))
    assert row[5] == pytest.approx(np.mean(rhos))

  means = _item_means(anns)
  ids = sorted(means)
  metric_of = {r["example_id"]: r for r in mrows}
  unver_of = {r["example_id"]: r for r in unver}
  # Table 7: Spearman of annotator-averaged scores with each metric.
  t7 = {row[0].split(" [")[0]: row for row in tables["Table 7"].rows}
  assert "all-MiniLM-L6-v2, layer 6" in tables["Table 7"].rows[-1][0]  # BERTScore model named
  for m, label in alignment.METRIC_LABELS.items():
    ref_c = sps.spearmanr([means[i]["coherence"] for i in ids], [metric_of[i][m] for i in ids])
    ref_i = sps.spearmanr([means[i]["insightfulness"] for i in ids], [metric_of[i][m] for i in ids])
    assert t7[label][1:5] == pytest.approx([ref_c.statistic, ref_c.pvalue,
                                             ref_i.statistic, ref_i.pvalue])
  # Table 8: t-tests faithful (majority) vs unfaithful.
  faithful = [i for i in ids if means[i]["faithfulness"] > 0.5]
  unfaithful = [i for i in ids if means[i]["faithfulness"] < 0.5]
  t8 = {row[0].split(" [")[0]: row for row in tables["Table 8"].rows}
  ref = sps.ttest_ind([means[i]["coherence"] for i in faithful],
                      [means[i]["coherence"] for i in unfaithful])
  assert t8["coherence (human)"][3:5] == pytest.approx([ref.statistic, ref.pvalue])
  ref = sps.ttest_ind([metric_of[i]["meteor"] for i in faithful],
                      [metric_of[i]["meteor"] for i in unfaithful])
  assert t8["METEOR"][3:5] == pytest.approx([ref.statistic, ref.pvalue])
  # Table 9: with vs without verification.
  t9 = {row[0].split(" [")[0]: row for row in tables["Table 9"].rows}
  coh = [means[i]["coherence"] for i in ids]
  ref_wo = sps.spearmanr(coh, [unver_of[i]["rouge1_f1"] for i in ids])
  ref_w = sps.spearmanr(coh, [metric_of[i]["rouge1_f1"] for i in ids])
  assert [t9["ROUGE-1 F1"][k] for k in (1, 2, 4, 5)] == pytest.approx(
      [ref_wo.statistic, ref_wo.pvalue, ref_w.statistic, ref_w.pvalue])
  # Table 13: correct vs incorrect predictions.
  correct = {r["example_id"]: r["correct"] for r in anns}
  t13 = {row[0]: row for row in tables["Table 13"].rows}
  ref = sps.ttest_ind([means[i]["insightfulness"] for i in ids if correct[i]],
                      [means[i]["insightfulness"] for i in ids if not correct[i]])
  assert t13["insightfulness"][3:5] == pytest.approx([ref.statistic, ref.pvalue])
  errs = {row[0]: row[1] for row in tables["Error types"].rows}
  assert errs["hallucination"] == sum(r["faithfulness"] == 0 for r in anns)


def test_cli_writes_tables(tmp_path, capsys):
  anns, mrows, unver = _random_study(3, n_items=20, annotators=("x", "y"))
  a = _write_jsonl(tmp_path / "ann.jsonl", anns)
  m = _write_csv(tmp_path / "m.csv", mrows)
  u = _write_csv(tmp_path / "u.csv", unver)
  out = tmp_path / "out"
  assert cli.main(["alignment", a, "--metrics", m, "--metrics-unverified", u, "--out",
                   str(out), "--welch"]) == 0
  text = capsys.readouterr().out
  for title in ("Table 6", "Table 7", "Table 8", "Table 9", "Table 13"):
    assert title in text
  assert "Welch's" in text
  saved = json.loads((out / "alignment.json").read_text())
  assert [t["title"].split(":")[0] for t in saved["tables"]][:5] == \
      ["Table 6", "Table 7", "Table 8", "Table 9", "Table 13"]
  assert (out / "alignment.md").read_text().strip() == text.strip()


GOOD = "annotator,example_id,coherence,faithfulness,insightfulness\n"


@pytest.mark.parametrize("body,line,field,message", [
    ("a,e1,4,1,3\na,e2,6,1,3\n", 3, "coherence", "must be an integer 1..5, got '6'"),
    ("a,e1,4,2,3\n", 2, "faithfulness", "must be 0 or 1"),
    ("a,e1,4,1,3.5\n", 2, "insightfulness", "got '3.5'"),
    ("a,e1,4,1,\n", 2, "insightfulness", "missing value"),
    (",e1,4,1,3\n", 2, "annotator", "missing value"),
    ("a,e1,4,1,3\na,e1,5,1,3\n", 3, "example_id", "twice (first on line 2)"),
])
def test_bad_csv_names_file_line_field(tmp_path, body, line, field, message):
  path = tmp_path / "ann.csv"
  path.write_text(GOOD + body)
  with pytest.raises(InputError) as e:
    alignment.read_annotations(str(path))
  assert (e.value.path, e.value.line, e.value.field) == (str(path), line, field)
  assert message in str(e.value)


def test_bad_jsonl_and_cli_one_line_error(tmp_path, capsys):
  path = tmp_path / "ann.jsonl"
  path.write_text('{"annotator": "a", "example_id": "e1", "coherence": 4, "faithfulness": 1, '
                  '"insightfulness": 2}\n{"annotator": "a", \n')
  with pytest.raises(InputError, match="not valid JSON") as e:
    alignment.read_annotations(str(path))
  assert e.value.line == 2
  assert cli.main(["alignment", str(path)]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("recsaver alignment: error:") and f"{path}:2" in err and "\n" not in err
  metrics = tmp_path / "m.csv"
  metrics.write_text("example_id,bleu,meteor\ne1,0.1,high\n")
  with pytest.raises(InputError, match="must be a number") as e:
    alignment.read_metric_rows(str(metrics))
  assert (e.value.line, e.value.field) == (2, "meteor")


def test_single_annotator_says_why_no_agreement(tmp_path):
  path = tmp_path / "ann.csv"
  path.write_text(GOOD + "a,e1,4,1,3\na,e2,2,0,3\na,e3,5,1,4\n")
  table = alignment.agreement_table(alignment.read_annotations(str(path)))
  assert "agreement needs at least two" in table.to_markdown()
  assert np.isnan(table.rows[0][3])
