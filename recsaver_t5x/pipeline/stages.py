"""The stages of `recsaver run`, in order. Each reads its run-file section and writes under the run dir.

Run-dir layout (documented in README.md):
  prepared/<domain>/          train.jsonl, test.jsonl, manifest.json          (prepare)
  baseline/                   baseline.md                                     (baseline)
  teacher/samples.jsonl       every teacher call, keyed and resumable         (zeroshot, sample, references)
  zeroshot/<domain>/          zeroshot.md/.csv, predictions.jsonl             (zeroshot)
  references/<domain>.jsonl   verified references (+ .summary.json)           (references)
  tasks/                      spm.model (offline vocabulary), tasks.json      (tasks)
  train/<student>/            checkpoints, train_metrics.jsonl, TensorBoard    (train)
  eval/<student>/             predictions_*.jsonl, metrics.json, reasoning/   (evaluate)
  report/                     report.md, report.html, *.png                  (report)
  stages/<stage>.json         what produced each stage's outputs               (runner)
"""
from __future__ import annotations

import json
import os

from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.pipeline.cli_args import flags, run_subcommand, teacher_flags
from recsaver_t5x.pipeline.config import RunConfig
from recsaver_t5x.pipeline.runner import Stage


def prepared_dir(run_dir: str, domain: str) -> str:
  return os.path.join(run_dir, "prepared", domain)


def store_path(run_dir: str) -> str:
  return os.path.join(run_dir, "teacher", "samples.jsonl")


def references_path(run_dir: str, domain: str) -> str:
  return os.path.join(run_dir, "references", f"{domain}.jsonl")


def active_domains(cfg: RunConfig, split: str) -> list:
  """Domains whose prepared split has examples (the shared Movies/TV samples have almost none)."""
  out = []
  for d in cfg.domains:
    n = data_io.read_manifest(prepared_dir(cfg.run_dir, d.name))["counts"][split]["examples"]
    if n:
      out.append(d)
    else:
      print(f"  [{d.name}] no {split} examples: skipped in this stage")
  return out


def run_prepare(cfg: RunConfig, run_dir: str) -> dict:
  from recsaver_t5x.data import prepare  # pylint: disable=import-outside-toplevel
  out = {}
  for d in cfg.domains:
    pc = prepare.PrepareConfig(domain=d.name, reviews=d.reviews, meta=d.meta, **cfg.section("prepare"))
    manifest = prepare.prepare(pc, prepared_dir(run_dir, d.name))
    print(f"[prepare] {d.name}:")
    for line in prepare.summarize(manifest):
      print(f"    {line}")
    out[d.name] = manifest["counts"]
  return out


def run_baseline(cfg: RunConfig, run_dir: str) -> dict:
  from recsaver_t5x.baseline import baseline_cli
  from recsaver_t5x.eval import rating_metrics  # pylint: disable=import-outside-toplevel
  rows = baseline_cli.baseline_rows([prepared_dir(run_dir, d.name) for d in cfg.domains], "test")
  os.makedirs(os.path.join(run_dir, "baseline"), exist_ok=True)
  with open(os.path.join(run_dir, "baseline", "baseline.md"), "w", encoding="utf-8") as f:
    f.write(rating_metrics.format_table(rows) + "\n")
  return dict(rows)


def run_zeroshot(cfg: RunConfig, run_dir: str) -> dict:
  for d in active_domains(cfg, "test"):
    run_subcommand(["zeroshot", prepared_dir(run_dir, d.name), "--out", os.path.join(run_dir, "zeroshot", d.name),
                    "--store", store_path(run_dir), *flags(cfg.section("zeroshot")),
                    *teacher_flags(cfg.section("teacher"))])
  return {}


def run_sample(cfg: RunConfig, run_dir: str) -> dict:
  for d in active_domains(cfg, "train"):
    run_subcommand(["sample", prepared_dir(run_dir, d.name), "--store", store_path(run_dir), "--split", "train",
                    *flags(cfg.section("sample")), *teacher_flags(cfg.section("teacher"))])
  return {}


def run_references(cfg: RunConfig, run_dir: str) -> dict:
  out = {}
  for d in active_domains(cfg, "test"):
    path = references_path(run_dir, d.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run_subcommand(["references", prepared_dir(run_dir, d.name), "--store", store_path(run_dir), "--out", path,
                    "--split", "test", *flags(cfg.section("references")), *teacher_flags(cfg.section("teacher"))])
    with open(path + ".summary.json", encoding="utf-8") as f:
      out[d.name] = json.load(f)
  return out


def _vocab_texts(cfg: RunConfig, run_dir: str):
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.prompting.variants import build_prompt
  from recsaver_t5x.teacher.store import SampleStore
  for d in cfg.domains:
    for split in ("train", "test"):
      for ex in data_io.read_split(prepared_dir(run_dir, d.name), split):
        yield build_prompt(ex, "reasoning").text
  if os.path.exists(store_path(run_dir)):
    for s in SampleStore(store_path(run_dir), readonly=True).select():
      yield s.text


def run_tasks(cfg: RunConfig, run_dir: str) -> dict:
  """Trains the offline vocabulary and writes the SeqIO tasks config for the trainer."""
  from recsaver_t5x.model import vocab  # pylint: disable=import-outside-toplevel
  t = cfg.section("tasks")
  tasks_dir = os.path.join(run_dir, "tasks")
  os.makedirs(tasks_dir, exist_ok=True)
  spm = t.get("vocabulary")
  if not spm:
    spm = vocab.train_sentencepiece(_vocab_texts(cfg, run_dir), os.path.join(tasks_dir, "spm"),
                                    int(t.get("vocab_size", 2000)))
  # Paths relative to tasks.json (seqio_tasks.from_config resolves them so): a run dir can move.
  rel = lambda p: os.path.relpath(p, tasks_dir)  # pylint: disable=unnecessary-lambda-assignment
  domains = [{"name": d.name, "prepared_dir": rel(prepared_dir(run_dir, d.name)),
              "samples_store": rel(store_path(run_dir)), "wording": d.wording,
              # zeroshot's answers share the store: the sampling temperature picks the paths.
              "temperature": float(cfg.section("sample").get("temperature", 0.7))}
             for d in active_domains(cfg, "train")]
  if not domains:
    raise UserFacingError("no domain has training examples; nothing to fine-tune")
  tasks = {"vocabulary": spm if t.get("vocabulary") else rel(spm), "ms": t.get("ms", [1]),
           "filters": t.get("filters", ["all"]),
           "domains": domains, "mixtures": True}
  if "max_prompt_chars" in t:
    tasks["budget"] = {"max_prompt_chars": t["max_prompt_chars"]}
  data_io.write_json_atomic(os.path.join(tasks_dir, "tasks.json"), tasks)
  return {"vocabulary": tasks["vocabulary"], "domains": [d["name"] for d in domains]}


def students(cfg: RunConfig) -> list[dict]:
  """[[students]] entries: name, task (train mixture/task), eval_task, optional gin bindings."""
  out = cfg.section("students") or []
  for i, s in enumerate(out):
    for key in ("name", "task", "eval_task"):
      if key not in s:
        raise UserFacingError(f"{cfg.path}: [[students]] entry {i + 1} lacks '{key}'")
  return out


def _gin(bindings: dict) -> list[str]:
  """Run-file values -> `--gin.KEY=VALUE` with VALUE a gin literal (strings quoted)."""
  return [f"--gin.{k}=" + (json.dumps(v) if isinstance(v, str) else repr(v)) for k, v in bindings.items()]


def run_train(cfg: RunConfig, run_dir: str) -> dict:
  t = cfg.section("train")
  gin_files = t.pop("gin_file", ["gin/tiny_cpu.gin"])
  gin_files = [gin_files] if isinstance(gin_files, str) else gin_files
  repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  out = {}
  for s in students(cfg):
    model_dir = os.path.abspath(os.path.join(run_dir, "train", s["name"]))
    bindings = {**t, **s.get("gin", {}), "MODEL_DIR": model_dir, "MIXTURE_OR_TASK_NAME": s["task"],
                "TASKS_CONFIG": os.path.abspath(os.path.join(run_dir, "tasks", "tasks.json"))}
    run_subcommand(["train", *[f"--gin_file={g}" for g in gin_files], f"--gin_search_path={repo}/gin",
                    *_gin(bindings)])
    out[s["name"]] = model_dir
  return out


def run_evaluate(cfg: RunConfig, run_dir: str) -> dict:
  e = cfg.section("evaluate")
  rm = cfg.section("reasoning_metrics")
  refs = [references_path(run_dir, d.name) for d in cfg.domains if os.path.exists(references_path(run_dir, d.name))]
  out = {}
  for s in students(cfg):
    eval_dir = os.path.join(run_dir, "eval", s["name"])
    run_subcommand(["evaluate", "--model-dir", os.path.join(run_dir, "train", s["name"]), "--task", s["eval_task"],
                    "--tasks-config", os.path.join(run_dir, "tasks", "tasks.json"), "--output-dir", eval_dir,
                    "--label", s.get("label", s["name"]), *flags(e)])
    if "_reason" in s["eval_task"] and refs:
      merged = os.path.join(run_dir, "references", "all.jsonl")
      with open(merged, "w", encoding="utf-8") as f:
        for r in refs:
          with open(r, encoding="utf-8") as src:
            f.write(src.read())
      # One scoring call over every domain's predictions: one table, one BERTScore model load.
      candidates = os.path.join(eval_dir, "candidates.jsonl")
      with open(candidates, "w", encoding="utf-8") as f:
        for pred in sorted(p for p in os.listdir(eval_dir) if p.startswith("predictions_")):
          with open(os.path.join(eval_dir, pred), encoding="utf-8") as src:
            f.write(src.read())
      run_subcommand(["reasoning-metrics", "--references", merged, "--candidates", candidates,
                      "--out", os.path.join(eval_dir, "reasoning"), *flags(rm)])
    with open(os.path.join(eval_dir, "metrics.json"), encoding="utf-8") as f:
      out[s["name"]] = json.load(f)
  return out


def run_report(cfg: RunConfig, run_dir: str) -> dict:
  from recsaver_t5x.report import build  # pylint: disable=import-outside-toplevel
  md, html = build.build_report([run_dir], os.path.join(run_dir, "report"))
  print(f"  report: {md} and {html}")
  return {"report_md": md, "report_html": html}


def print_results(cfg: RunConfig) -> None:
  """Prints the run's headline tables (also when every stage was up to date)."""
  baseline = os.path.join(cfg.run_dir, "baseline", "baseline.md")
  if os.path.exists(baseline):
    print("\nNaive user-average baseline, test split (Table 3 layout; '-' = undefined):")
    with open(baseline, encoding="utf-8") as f:
      print(f.read().rstrip())
  report = os.path.join(cfg.run_dir, "report", "report.md")
  if os.path.exists(report):
    print(f"\nReport: {report} (and report.html beside it)")


STAGES = (
    Stage("prepare", run_prepare, ("prepare",), "seconds"),
    Stage("baseline", run_baseline, (), "seconds"),
    Stage("zeroshot", run_zeroshot, ("zeroshot", "teacher"), "minutes with the embedded teacher"),
    Stage("sample", run_sample, ("sample", "teacher"), "minutes"),
    Stage("references", run_references, ("references", "teacher"), "minutes"),
    Stage("tasks", run_tasks, ("tasks",), "seconds"),
    Stage("train", run_train, ("train", "students"), "minutes per student on CPU"),
    Stage("evaluate", run_evaluate, ("evaluate", "reasoning_metrics", "students"), "a minute per student"),
    Stage("report", run_report, ("report",), "seconds"),
)
