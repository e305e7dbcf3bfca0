"""Human alignment of reasoning metrics: the study's Tables 6, 7, 8, 9 and 13.

Inputs
- Annotations (CSV with a header row, or JSONL): one row per (annotator, example) with
  `annotator`, `example_id`, `coherence` (1..5), `faithfulness` (0/1), `insightfulness` (1..5);
  optional `sample_index` (which candidate of the example was shown; default 0),
  `error_types` (";"-separated in CSV, a list or ";"-separated string in JSONL), and the
  prediction's correctness as `correct` (0/1) or `predicted_rating` + `rating`.
- Per-candidate reasoning metrics (CSV/JSONL, as written by `recsaver reasoning-metrics`):
  `example_id`, optional `sample_index`, any of `bleu`, `rouge1_f1`, `meteor`, `bertscore_f1`,
  optional `correct` and `bertscore_model`. For Table 9, a second such file scored against the
  unverified references (every cleaned explanation, before self-verification).

Aggregation rules
- Agreement (Table 6) is over annotator pairs that share items; kappa is quadratic-weighted on the
  1..5 scales and unweighted on faithfulness; the table shows the mean over pairs, and every
  pair's rho and p-value is listed.
- Everywhere else an item's human score is the mean over its annotators; an item is faithful
  when more than half of its annotators marked it faithful, unfaithful when fewer than half did,
  and a tie is excluded from Table 8 (and counted).
- Correlations with metrics are Spearman's rho with two-sided p-values; group comparisons are
  two-sample t-tests (Student's by default, Welch's on request).
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
import os
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from recsaver_t5x.data.io import iter_json_objects
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.recsaver import stats

DIMENSIONS = ("coherence", "faithfulness", "insightfulness")
LIKERT = (1, 2, 3, 4, 5)
SCALES = {"coherence": LIKERT, "faithfulness": (0, 1), "insightfulness": LIKERT}
KAPPA_WEIGHTS = {"coherence": "quadratic", "faithfulness": None, "insightfulness": "quadratic"}
METRIC_COLUMNS = ("bleu", "rouge1_f1", "meteor", "bertscore_f1")
METRIC_LABELS = {"bleu": "BLEU", "rouge1_f1": "ROUGE-1 F1", "meteor": "METEOR",
                 "bertscore_f1": "BERTScore F1"}
Key = tuple[str, int]  # (example_id, sample_index)


@dataclasses.dataclass(frozen=True)
class Annotation:
  """One annotator's judgement of one reasoning text."""

  annotator: str
  example_id: str
  coherence: int
  faithfulness: int
  insightfulness: int
  sample_index: int = 0
  error_types: tuple[str, ...] = ()
  correct: Optional[bool] = None

  @property
  def key(self) -> Key:
    return (self.example_id, self.sample_index)


@dataclasses.dataclass(frozen=True)
class MetricRow:
  """Reasoning metrics of one candidate."""

  example_id: str
  sample_index: int
  values: Mapping[str, float]
  correct: Optional[bool] = None
  bertscore_model: str = ""


# --------------------------------------------------------------------------- reading


def _rows(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
  """(line number, record) of a CSV (header on line 1) or JSONL file."""
  if not os.path.isfile(path):
    raise UserFacingError(f"{path}: no such file")
  ext = os.path.splitext(path)[1].lower()
  if ext == ".csv":
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel writes a BOM
      reader = csv.DictReader(f)
      if not reader.fieldnames:
        raise InputError(path, "empty CSV file (no header row)", line=1)
      for row in reader:
        if None in row:
          raise InputError(path, f"more values than the {len(reader.fieldnames)} header columns",
                           line=reader.line_num)
        yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}
  elif ext in (".jsonl", ".json", ".ndjson"):
    yield from iter_json_objects(path)
  else:
    raise UserFacingError(f"{path}: unknown format '{ext}'; use .csv (with a header) or .jsonl")


def _blank(v: Any) -> bool:
  return v is None or (isinstance(v, str) and not v.strip())


def _required(path: str, line: int, row: Mapping[str, Any], field: str) -> Any:
  if field not in row or _blank(row[field]):
    raise InputError(path, "missing value (required)", line=line, field=field)
  return row[field]


def _name(path: str, line: int, row: Mapping[str, Any], field: str) -> str:
  """A required name or id: text (or a JSON integer), never an object, array or true/false."""
  v = _required(path, line, row, field)
  if isinstance(v, bool) or not isinstance(v, (str, int)):
    raise InputError(path, f"must be a string, got {v!r}", line=line, field=field)
  return str(v).strip()


def _int_in(path: str, line: int, field: str, raw: Any, allowed: Sequence[int]) -> int:
  what = "0 or 1" if tuple(allowed) == (0, 1) else f"an integer {allowed[0]}..{allowed[-1]}"
  if isinstance(raw, bool):
    value: Any = int(raw)
  else:
    text = str(raw).strip().lower()
    if tuple(allowed) == (0, 1) and text in ("true", "false", "yes", "no"):
      value = int(text in ("true", "yes"))
    else:
      try:
        f = float(text)
      except ValueError:
        raise InputError(path, f"must be {what}, got {raw!r}", line=line, field=field) from None
      if not f.is_integer():
        raise InputError(path, f"must be {what}, got {raw!r}", line=line, field=field)
      value = int(f)
  if value not in allowed:
    raise InputError(path, f"must be {what}, got {raw!r}", line=line, field=field)
  return value


def _sample_index(path: str, line: int, row: Mapping[str, Any]) -> int:
  raw = row.get("sample_index")
  if _blank(raw):
    return 0
  return _int_in(path, line, "sample_index", raw, range(0, 1_000_000))


def _correct(path: str, line: int, row: Mapping[str, Any]) -> Optional[bool]:
  if not _blank(row.get("correct")):
    return bool(_int_in(path, line, "correct", row["correct"], (0, 1)))
  pred, true = row.get("predicted_rating"), row.get("rating", row.get("true_rating"))
  if _blank(true):
    return None
  true_v = _int_in(path, line, "rating", true, LIKERT)
  if _blank(pred) or str(pred).strip().lower() in ("none", "null", "unparsed"):
    return False  # an unparsed prediction is not a correct one
  return _int_in(path, line, "predicted_rating", pred, LIKERT) == true_v


def _error_types(raw: Any) -> tuple[str, ...]:
  if _blank(raw):
    return ()
  parts = raw if isinstance(raw, list) else str(raw).replace(",", ";").split(";")
  return tuple(sorted({str(p).strip() for p in parts if str(p).strip()}))


def read_annotations(path: str) -> list[Annotation]:
  """Reads and validates human annotations (see the module docstring for the columns)."""
  out: list[Annotation] = []
  first_line: dict[tuple[str, Key], int] = {}
  for line, row in _rows(path):
    ann = Annotation(
        annotator=_name(path, line, row, "annotator"),
        example_id=_name(path, line, row, "example_id"),
        coherence=_int_in(path, line, "coherence", _required(path, line, row, "coherence"), LIKERT),
        faithfulness=_int_in(path, line, "faithfulness",
                             _required(path, line, row, "faithfulness"), (0, 1)),
        insightfulness=_int_in(path, line, "insightfulness",
                               _required(path, line, row, "insightfulness"), LIKERT),
        sample_index=_sample_index(path, line, row),
        error_types=_error_types(row.get("error_types")),
        correct=_correct(path, line, row))
    ident = (ann.annotator, ann.key)
    if ident in first_line:
      raise InputError(path, f"annotator '{ann.annotator}' rated example '{ann.example_id}' "
                       f"(sample {ann.sample_index}) twice (first on line {first_line[ident]})",
                       line=line, field="example_id")
    first_line[ident] = line
    out.append(ann)
  if not out:
    raise InputError(path, "no annotations in the file")
  return out


def read_metric_rows(path: str) -> dict[Key, MetricRow]:
  """Reads per-candidate reasoning metrics, keyed by (example_id, sample_index)."""
  out: dict[Key, MetricRow] = {}
  lines: dict[Key, int] = {}
  for line, row in _rows(path):
    example_id = _name(path, line, row, "example_id")
    key = (example_id, _sample_index(path, line, row))
    if key in out:
      raise InputError(path, f"example '{example_id}' sample {key[1]} appears twice (first on "
                       f"line {lines[key]})", line=line, field="example_id")
    values = {}
    for m in METRIC_COLUMNS:
      if m in row and not _blank(row[m]):
        try:
          values[m] = float(row[m])
        except (TypeError, ValueError):
          raise InputError(path, f"must be a number, got {row[m]!r}", line=line, field=m) from None
    if not values:
      raise InputError(path, f"no metric column; expected some of {', '.join(METRIC_COLUMNS)}",
                       line=line)
    out[key] = MetricRow(example_id, key[1], values, _correct(path, line, row),
                         str(row.get("bertscore_model") or ""))
    lines[key] = line
  if not out:
    raise InputError(path, "no metric rows in the file")
  return out


# --------------------------------------------------------------------------- tables


@dataclasses.dataclass
class Table:
  """A result table: a title, column names, rows of cells, and notes under it."""

  title: str
  columns: list[str]
  rows: list[list[Any]]
  notes: list[str] = dataclasses.field(default_factory=list)

  def to_markdown(self) -> str:
    lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in self.rows]
    if self.notes:
      lines += [""] + [f"- {n}" for n in self.notes]
    return "\n".join(lines)

  def to_dict(self) -> dict[str, Any]:
    return {"title": self.title, "columns": self.columns,
            "rows": [[_jsonable(v) for v in r] for r in self.rows], "notes": self.notes}


def _cell(v: Any) -> str:
  if isinstance(v, float):
    if math.isnan(v):
      return "n/a"
    return f"{v:.3g}" if 0 < abs(v) < 1e-3 else f"{v:.3f}"
  return str(v)


def _jsonable(v: Any) -> Any:
  return None if isinstance(v, float) and math.isnan(v) else v


def _by_item(annotations: Sequence[Annotation]) -> dict[Key, list[Annotation]]:
  items: dict[Key, list[Annotation]] = {}
  for a in annotations:
    items.setdefault(a.key, []).append(a)
  return items


def item_means(annotations: Sequence[Annotation]) -> dict[Key, dict[str, float]]:
  """Annotator-averaged human scores per item."""
  return {k: {d: float(np.mean([getattr(a, d) for a in anns])) for d in DIMENSIONS}
          for k, anns in _by_item(annotations).items()}


def agreement_table(annotations: Sequence[Annotation]) -> Table:
  """Table 6: mean scores and inter-annotator agreement (kappa, Spearman) per dimension."""
  annotators = sorted({a.annotator for a in annotations})
  by = {(a.annotator, a.key): a for a in annotations}
  pairs = list(itertools.combinations(annotators, 2))
  rows, notes = [], []
  for d in DIMENSIONS:
    kappas, rhos, details = [], [], []
    for x, y in pairs:
      shared = sorted(k for (ann, k) in by if ann == x and (y, k) in by)
      if len(shared) < 2:
        continue
      a = [getattr(by[(x, k)], d) for k in shared]
      b = [getattr(by[(y, k)], d) for k in shared]
      kappas.append(stats.cohen_kappa(a, b, SCALES[d], KAPPA_WEIGHTS[d]))
      c = stats.spearman(a, b)
      rhos.append(c.rho)
      details.append(f"{x}~{y}: rho={_cell(c.rho)} (p={_cell(c.p)}, n={c.n})")
    values = [getattr(a, d) for a in annotations]
    weights = KAPPA_WEIGHTS[d] or "unweighted"
    rows.append([d, float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1
                 else math.nan, _nanmean(kappas), weights, _nanmean(rhos),
                 "; ".join(details) or "n/a"])
  if len(annotators) < 2:
    notes.append(f"only {len(annotators)} annotator: agreement needs at least two")
  notes.append(f"{len(annotators)} annotators, {len(pairs)} pairs, "
               f"{len(_by_item(annotations))} items, {len(annotations)} annotations; "
               "kappa and rho are means over annotator pairs with at least 2 shared items")
  return Table("Table 6: human scores and inter-annotator agreement",
               ["Dimension", "Mean", "Std", "Cohen's kappa", "Kappa weights", "Spearman rho",
                "Spearman rho per pair (p)"], rows, notes)


def _nanmean(v: Sequence[float]) -> float:
  vals = [x for x in v if not math.isnan(x)]
  return float(np.mean(vals)) if vals else math.nan


def _paired(means: Mapping[Key, Mapping[str, float]], metrics: Mapping[Key, MetricRow],
            dim: str, metric: str) -> tuple[list[float], list[float]]:
  keys = sorted(k for k in means if k in metrics and metric in metrics[k].values)
  return [means[k][dim] for k in keys], [metrics[k].values[metric] for k in keys]


def _metric_names(metrics: Mapping[Key, MetricRow]) -> list[str]:
  present = {m for r in metrics.values() for m in r.values}
  return [m for m in METRIC_COLUMNS if m in present]


def _metric_label(metric: str, metrics: Mapping[Key, MetricRow]) -> str:
  label = METRIC_LABELS[metric]
  if metric == "bertscore_f1":
    models = sorted({r.bertscore_model for r in metrics.values() if r.bertscore_model})
    if models:
      label += f" [{'; '.join(models)}]"
  return label


def _coverage_note(means: Mapping[Key, Any], metrics: Mapping[Key, MetricRow]) -> str:
  both = sum(1 for k in means if k in metrics)
  return (f"{both} of {len(means)} annotated items have metrics "
          f"({len(means) - both} without metrics are left out)")


def correlation_table(annotations: Sequence[Annotation], metrics: Mapping[Key, MetricRow]) -> Table:
  """Table 7: Spearman rho of annotator-averaged coherence/insightfulness with each metric."""
  means = item_means(annotations)
  rows = []
  for m in _metric_names(metrics):
    row: list[Any] = [_metric_label(m, metrics)]
    for d in ("coherence", "insightfulness"):
      c = stats.spearman(*_paired(means, metrics, d, m))
      row += [c.rho, c.p]
    row.append(len(_paired(means, metrics, "coherence", m)[0]))
    rows.append(row)
  return Table("Table 7: correlation of human scores with reasoning metrics (Spearman)",
               ["Metric", "Coherence rho", "p", "Insightfulness rho", "p", "n"], rows,
               [_coverage_note(means, metrics)])


def _faithful_split(annotations: Sequence[Annotation]) -> tuple[set[Key], set[Key], int]:
  faithful, unfaithful, ties = set(), set(), 0
  for k, anns in _by_item(annotations).items():
    share = float(np.mean([a.faithfulness for a in anns]))
    if share > 0.5:
      faithful.add(k)
    elif share < 0.5:
      unfaithful.add(k)
    else:
      ties += 1
  return faithful, unfaithful, ties


def faithfulness_ttest_table(annotations: Sequence[Annotation],
                             metrics: Optional[Mapping[Key, MetricRow]] = None,
                             equal_var: bool = True) -> Table:
  """Table 8: faithful vs unfaithful reasoning, for human scores and each metric."""
  means = item_means(annotations)
  faithful, unfaithful, ties = _faithful_split(annotations)
  rows = []

  def add(label: str, value_of) -> None:
    a = [v for v in (value_of(k) for k in sorted(faithful)) if v is not None]
    b = [v for v in (value_of(k) for k in sorted(unfaithful)) if v is not None]
    t = stats.ttest_ind(a, b, equal_var=equal_var)
    rows.append([label, t.mean_a, t.mean_b, t.t, t.p, t.n_a, t.n_b])

  for d in ("coherence", "insightfulness"):
    add(f"{d} (human)", lambda k, d=d: means[k][d])
  for m in _metric_names(metrics or {}):
    add(_metric_label(m, metrics),
        lambda k, m=m: metrics[k].values.get(m) if k in metrics else None)
  test = "Student's (pooled variance)" if equal_var else "Welch's"
  notes = [f"{test} two-sample t-test, two-sided; an item is faithful when most of its "
           f"annotators say so; {ties} tied items excluded"]
  if metrics is None:
    notes.append("no metrics file given: human scores only")
  return Table("Table 8: faithful vs unfaithful reasoning (t-test)",
               ["Score", "Mean faithful", "Mean unfaithful", "t", "p", "n faithful",
                "n unfaithful"], rows, notes)


def verification_table(annotations: Sequence[Annotation], verified: Mapping[Key, MetricRow],
                       unverified: Mapping[Key, MetricRow]) -> Table:
  """Table 9: metric/coherence correlation against unverified vs self-verified references."""
  means = item_means(annotations)
  rows = []
  for m in [x for x in _metric_names(verified) if x in _metric_names(unverified)]:
    without = stats.spearman(*_paired(means, unverified, "coherence", m))
    with_ = stats.spearman(*_paired(means, verified, "coherence", m))
    rows.append([_metric_label(m, verified), without.rho, without.p, without.n,
                 with_.rho, with_.p, with_.n])
  return Table("Table 9: correlation with coherence, without vs with self-verified references",
               ["Metric", "rho w/o verification", "p", "n", "rho with verification", "p", "n"],
               rows, ["without verification: references are every cleaned post-hoc explanation; "
                      "with: only those whose self-verification predicted the true rating"])


def correctness_table(annotations: Sequence[Annotation],
                      metrics: Optional[Mapping[Key, MetricRow]] = None,
                      equal_var: bool = True) -> Table:
  """Table 13: human scores for correct vs incorrect rating predictions."""
  means = item_means(annotations)
  correct: dict[Key, Optional[bool]] = {}
  for a in annotations:
    if a.correct is not None:
      correct[a.key] = a.correct
  for k, r in (metrics or {}).items():
    if k not in correct and r.correct is not None:
      correct[k] = r.correct
  rows = []
  unknown = sum(1 for k in means if k not in correct)
  for d in DIMENSIONS:
    a = [means[k][d] for k in sorted(means) if correct.get(k) is True]
    b = [means[k][d] for k in sorted(means) if correct.get(k) is False]
    t = stats.ttest_ind(a, b, equal_var=equal_var)
    rows.append([d, t.mean_a, t.mean_b, t.t, t.p, t.n_a, t.n_b])
  notes = [f"{unknown} items without correctness information left out"]
  if not correct:
    notes.append("no correctness information: give `correct` or `predicted_rating`+`rating` in "
                 "the annotations, or `correct` in the metrics file")
  return Table("Table 13: human scores for correct vs incorrect rating predictions",
               ["Dimension", "Mean correct", "Mean incorrect", "t", "p", "n correct",
                "n incorrect"], rows, notes)


def error_type_table(annotations: Sequence[Annotation]) -> Optional[Table]:
  """Counts of annotated error types (None when no annotation names one)."""
  counts: dict[str, int] = {}
  for a in annotations:
    for e in a.error_types:
      counts[e] = counts.get(e, 0) + 1
  if not counts:
    return None
  total = len(annotations)
  rows = [[e, n, n / total] for e, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
  return Table("Error types", ["Error type", "Annotations", "Share"], rows,
               [f"share of all {total} annotations; one annotation may name several types"])


def alignment_tables(annotations: Sequence[Annotation],
                     metrics: Optional[Mapping[Key, MetricRow]] = None,
                     unverified: Optional[Mapping[Key, MetricRow]] = None,
                     equal_var: bool = True) -> list[Table]:
  """All tables that the inputs allow, in the study's order."""
  tables = [agreement_table(annotations)]
  if metrics:
    tables.append(correlation_table(annotations, metrics))
  tables.append(faithfulness_ttest_table(annotations, metrics, equal_var))
  if metrics and unverified:
    tables.append(verification_table(annotations, metrics, unverified))
  tables.append(correctness_table(annotations, metrics, equal_var))
  errors = error_type_table(annotations)
  if errors:
    tables.append(errors)
  return tables
