"""Builds the report of one or more run directories: the study's tables, plots, example reasoning.

Reads only files that the stages wrote, where `RunLayout` (recsaver_t5x/pipeline/layout.py) says;
a stage that did not run leaves its section out with a note, never a made-up number.
"""
from __future__ import annotations

import glob
import json
import os
from typing import Optional, Sequence

import numpy as np

from recsaver_t5x import shapes
from recsaver_t5x.jsonl import read_json_object
from recsaver_t5x.eval.rating_metrics import AUC_COLUMNS, TABLE3_COLUMNS, format_table
from recsaver_t5x.pipeline.layout import RunLayout
from recsaver_t5x.report import plots
from recsaver_t5x.report.render import Section, write_report


def _json(path: str) -> Optional[dict]:
  if not os.path.exists(path):
    return None
  return read_json_object(path)


def _jsonl(path: str) -> list[dict]:
  if not os.path.exists(path):
    return []
  out = []
  with open(path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
      if line.strip():
        with shapes.reading(path, n):  # json, not orjson: a stage's file may hold NaN
          out.append(shapes.as_object(path, None, json.loads(line), line=n))
  return out


def _text(path: str) -> Optional[str]:
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return f.read().rstrip()


def _name(run_dir: str) -> str:
  return os.path.basename(os.path.normpath(run_dir))


def data_section(run_dirs: Sequence[str]) -> Section:
  lines = ["| Run | Domain | Reviews read | Duplicates dropped | Eligible 1/2/3/4/5 | Train (users) | "
           "Test (users) | Items without metadata |", "|---|---|---:|---:|---|---:|---:|---:|"]
  for rd in run_dirs:
    for path in sorted(glob.glob(os.path.join(RunLayout(rd).path("prepared"), "manifest.json"))):
      m = _json(path)
      with shapes.reading(path):
        lines.append(_data_row(rd, m))
  return Section("Data", "Label-balanced (capped where the data fall short), user-disjoint splits; "
                 "4 to 10 history items per example.\n\n" + "\n".join(lines))


def _data_row(rd: str, m: dict) -> str:
  c = m["counts"]
  return (f"| {_name(rd)} | {m['config']['domain']} | {m['reviews_read']:,} | {m['duplicates_dropped']:,} | "
          + "/".join(str(v) for v in m["eligible_per_label"].values())
          + f" | {c['train']['examples']} ({c['train']['users']}) | {c['test']['examples']} ({c['test']['users']})"
          f" | {m['items_without_metadata']} of {m['items_referenced']} |")


def table3_section(run_dirs: Sequence[str]) -> Section:
  parts = []
  for rd in run_dirs:
    for d in sorted(glob.glob(RunLayout(rd).path("zeroshot"))):
      table = _text(os.path.join(d, "zeroshot.md"))
      run = _json(os.path.join(d, "run.json")) or {}
      if table:
        teacher = run.get("teacher_model") or run.get("model") or "see run.json"
        parts.append(f"**{_name(rd)} / {os.path.basename(d)}** (teacher: {teacher})\n\n{table}")
    base = _text(os.path.join(RunLayout(rd).path("baseline"), "baseline.md"))
    if base:
      parts.append(f"**{_name(rd)}: naive baseline on every domain's test split**\n\n{base}")
  body = "\n\n".join(parts) or "_The zero-shot stage has not run._"
  return Section("Table 3: teacher zero-shot prompt variants vs the naive baseline", body)


def _students(rd: str) -> list[tuple[str, dict, str]]:
  out = []
  for path in sorted(glob.glob(os.path.join(RunLayout(rd).path("eval"), "metrics.json"))):
    saved = _json(path)
    m = saved["metrics"].get("all") or next(iter(saved["metrics"].values()))
    out.append((os.path.basename(os.path.dirname(path)), m, saved.get("task", "")))
  return out


def _predictions(rd: str, student: str) -> list[dict]:
  pattern = os.path.join(RunLayout(rd).path("eval", student), "predictions_*.jsonl")
  return [p for f in sorted(glob.glob(pattern)) for p in _jsonl(f)]


def students_section(run_dirs: Sequence[str]) -> Section:
  rows = []
  for rd in run_dirs:
    for name, m, task in _students(rd):
      cfg = _json(os.path.join(RunLayout(rd).path("train", name), "config.json")) or {}
      size = (f"d_model {cfg.get('emb_dim', '?')}, {cfg.get('num_encoder_layers', '?')}+"
              f"{cfg.get('num_decoder_layers', '?')} layers")
      rows.append((f"{_name(rd)}: {name} ({task}; model {size})", m))
  if not rows:
    return Section("Tables 4 and 5: fine-tuned students", "_No student has been evaluated._")
  body = ("Rows: students (targets with or without reasoning; samples x filters). AUCs come from the "
          "probabilities of the five rating tokens.\n\n"
          + format_table(rows, columns=TABLE3_COLUMNS + AUC_COLUMNS))
  return Section("Tables 4 and 5: fine-tuned students", body)


def table11_section(run_dirs: Sequence[str], out_dir: str) -> Section:
  parts, images = [], []
  for rd in run_dirs:
    for d in sorted(glob.glob(os.path.join(RunLayout(rd).path("eval"), "reasoning"))):
      student = os.path.basename(os.path.dirname(d))
      table = _text(os.path.join(d, "reasoning_metrics.md"))
      meta = _json(os.path.join(d, "reasoning_metrics.json")) or {}
      if table:
        parts.append(f"**{_name(rd)} / {student}** (BERTScore model: {meta.get('bertscore_model', '?')}; "
                     f"examples without references: {len(meta.get('examples_without_references', []))})\n\n{table}")
      rows = _jsonl(os.path.join(d, "reasoning_metrics.jsonl"))
      keys = [k for k in ("bleu", "rouge1_f1", "meteor", "bertscore_f1") if rows and k in rows[0]]
      if keys:
        vals = {k: [r[k] if r[k] is not None else np.nan for r in rows] for k in keys}
        png = os.path.join(out_dir, f"{_name(rd)}_{student}_reasoning_metrics.png")
        images.append((f"{_name(rd)} / {student}: per-example reasoning metrics",
                       plots.distributions(vals, png, f"{student}: reasoning metrics")))
  body = "\n\n".join(parts) or "_No reasoning metrics (no reasoning student or no references)._"
  return Section("Table 11: reasoning metrics, correct vs incorrect predictions", body, tuple(images))


def references_section(run_dirs: Sequence[str], out_dir: str) -> Section:
  from recsaver_t5x.recsaver.references import format_summary  # pylint: disable=import-outside-toplevel
  parts, images = [], []
  for rd in run_dirs:
    for path in sorted(glob.glob(RunLayout(rd).path("references") + ".summary.json")):
      domain = os.path.basename(path).split(".")[0]
      s = _json(path)
      parts.append(f"**{_name(rd)} / {domain}**\n\n{format_summary(s)}")
      rates = {k: (v["pass_rate"] or 0.0) for k, v in s["by_label"].items() if v["explanations"]}
      if rates:
        png = os.path.join(out_dir, f"{_name(rd)}_{domain}_pass_rate.png")
        images.append((f"{domain}: verification pass rate by true rating",
                       plots.bars(rates, png, f"{domain}: self-verification pass rate", "pass rate")))
  body = "\n\n".join(parts) or "_The references stage has not run._"
  return Section("Rec-SAVER references: self-verification", body, tuple(images))


def plots_section(run_dirs: Sequence[str], out_dir: str) -> Section:
  images, curves, per_token = [], {}, {}
  for rd in run_dirs:
    for name, _, _ in _students(rd):
      preds = _predictions(rd, name)
      if preds:
        y = [p["true_rating"] for p in preds]
        tag = f"{_name(rd)}_{name}"
        images.append((f"{tag}: confusion matrix", plots.confusion_matrix(
            y, [p.get("predicted_rating", p.get("rating")) for p in preds], os.path.join(out_dir, f"{tag}_confusion.png"), tag)))
        images.append((f"{tag}: calibration of P(rating > 3)", plots.calibration(
            y, np.asarray([p["probs"] for p in preds]), os.path.join(out_dir, f"{tag}_calibration.png"), tag)))
      log = _jsonl(os.path.join(RunLayout(rd).path("train", name), "train_metrics.jsonl"))
      for key, series in training_series(log).items():
        (curves if key == "loss" else per_token)[f"{_name(rd)}: {name}"] = series
  if curves:
    images.insert(0, ("training loss and per-token cross-entropy", plots.training_curves(
        curves, os.path.join(out_dir, "training_loss.png"), per_token=per_token)))
  return Section("Plots", "" if images else "_Nothing trained or evaluated yet._", tuple(images))


def training_series(log: Sequence[dict]) -> dict[str, tuple[list, list]]:
  """(steps, values) of T5X's summed `loss` and of `cross_ent_per_token` in a train log."""
  out = {}
  for key in ("loss", "cross_ent_per_token"):
    pts = [(r["step"], r[key]) for r in log if key in r and "step" in r]
    if pts:
      out[key] = ([s for s, _ in pts], [v for _, v in pts])
  return out


def examples_section(run_dirs: Sequence[str], max_examples: int = 3) -> Section:
  parts = []
  for rd in run_dirs:
    refs = {}
    for path in glob.glob(RunLayout(rd).path("references")):
      for r in _jsonl(path):
        if r.get("references"):
          refs[r["example_id"]] = r["references"]
    for name, _, _ in _students(rd):
      if not os.path.isdir(os.path.join(RunLayout(rd).path("eval", name), "reasoning")):
        continue  # reasoning-metrics ran only for reasoning students
      preds = _predictions(rd, name)
      shown = [p for p in preds if p["example_id"] in refs][:max_examples]
      for p in shown:
        parts.append(f"**{_name(rd)} / {name} / {p['example_id']}** (true {p['true_rating']}, predicted "
                     f"{p.get('predicted_rating', p.get('rating'))})\n\nStudent:\n\n> " + p["text"].replace("\n", "\n> ")
                     + "\n\nVerified reference:\n\n> " + refs[p["example_id"]][0].replace("\n", "\n> "))
  return Section("Example reasoning next to verified references",
                 "\n\n".join(parts) or "_No reasoning student with verified references yet._")


def tables_section(run_dirs: Sequence[str], title: str, name: str, file: str = "") -> Section:
  """Markdown tables other subcommands wrote (rerank.md, the EXP3RT table), embedded as they are."""
  parts = [f"**{_name(rd)} / {os.path.basename(p).removesuffix('.md')}**\n\n{_text(p)}"
           for rd in run_dirs for p in sorted(glob.glob(os.path.join(RunLayout(rd).path(name), file).rstrip("/")))]
  return Section(title, "\n\n".join(parts) or "_This stage has not run._")


def build_report(run_dirs: Sequence[str], out_dir: str) -> tuple[str, str]:
  """Writes report.md and report.html (PNGs beside them) for one or several runs."""
  os.makedirs(out_dir, exist_ok=True)
  sections = [data_section(run_dirs), table3_section(run_dirs), references_section(run_dirs, out_dir),
              students_section(run_dirs), table11_section(run_dirs, out_dir), plots_section(run_dirs, out_dir),
              examples_section(run_dirs)]
  sections += [sec for sec in (tables_section(run_dirs, "EXP3RT: rating from profiles", "exp3rt_report"),
                               tables_section(run_dirs, "Top-k reranking", "rerank", "rerank.md"))
               if not sec.body.startswith("_")]
  title = "recsaver-t5x report: " + ", ".join(_name(r) for r in run_dirs)
  return write_report(title, sections, out_dir)
