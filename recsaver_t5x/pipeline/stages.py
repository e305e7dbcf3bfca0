"""The stages of `recsaver run`, in order: each one declaration of `recsaver` command lines.

A stage names the run-file sections it reads (its keys are the flags of its subcommands, checked
against their parsers before anything runs), the stages whose outputs it reads, the command lines
it runs (child processes, built lazily so a later command may look at an earlier one's output)
and the paths it writes (RunLayout names). Adding a stage is adding one `Stage(...)` below.
"""
from __future__ import annotations

import dataclasses
import glob
import os
from typing import Callable, Iterable

from recsaver_t5x.data import io as data_io
from recsaver_t5x.pipeline.cli_args import to_flags
from recsaver_t5x.pipeline.config import RunConfig, Section
from recsaver_t5x.pipeline.layout import RunLayout

Commands = Iterable[list[str]]


@dataclasses.dataclass(frozen=True)
class Stage:
  name: str
  commands: Callable[[RunConfig, RunLayout], Commands]  # `recsaver` argv lists, run in order
  outputs: Callable[[RunConfig, RunLayout], list[str]]  # moved aside when stale, never reused
  inputs: tuple[str, ...] = ()  # stages whose outputs it reads: their fingerprints are in its own
  reads: tuple[str, ...] = ()  # run-file sections
  estimate: str = ""  # rough duration shown before the run starts
  enabled: Callable[[RunConfig], bool] = lambda cfg: True


def _active(cfg: RunConfig, L: RunLayout, split: str, names=None) -> list:
  """Domains whose prepared split has examples (the shared Movies/TV samples have almost none)."""
  out = []
  for d in cfg.domains:
    if names is not None and d.name not in names:
      continue
    if data_io.manifest_examples(L.path("prepared", d.name), split):
      out.append(d)
    else:
      print(f"  [{d.name}] no {split} examples: skipped in this stage")
  return out


def _teacher(cfg: RunConfig, command: str) -> list[str]:
  return to_flags(command, cfg.section("teacher"), prefix="teacher_")


def _vocabulary(cfg: RunConfig, L: RunLayout) -> str:
  return cfg.section("tasks").get("vocabulary") or os.path.join(L.path("tasks"), "spm.model")


def _students(cfg: RunConfig, evaluator: str) -> list[dict]:
  return [s for s in cfg.students() if s.get("eval", "evaluate") == evaluator]


def targets(student: dict) -> str:
  """'reason' or 'rating': the student's `targets`, else what its eval task's name says."""
  from recsaver_t5x.tasks import naming  # pylint: disable=import-outside-toplevel
  return student.get("targets") or naming.eval_targets(student["eval_task"])


def _without(section: dict, *keys: str) -> dict:
  return {k: v for k, v in section.items() if k not in keys}


def prepare_commands(cfg, L):
  for d in cfg.domains:
    yield ["prepare", "--reviews", *d.reviews, *(["--meta", *d.meta] if d.meta else []), "--domain", d.name,
           "--out", L.path("prepared", d.name), *to_flags("prepare", cfg.section("prepare"))]


def zeroshot_commands(cfg, L):
  for d in _active(cfg, L, "test"):
    yield ["zeroshot", L.path("prepared", d.name), "--out", L.path("zeroshot", d.name), "--store", L.path("store"),
           *to_flags("zeroshot", cfg.section("zeroshot")), *_teacher(cfg, "zeroshot")]


def sample_commands(cfg, L):
  for d in _active(cfg, L, "train"):
    yield ["sample", L.path("prepared", d.name), "--store", L.path("store"), "--split", "train",
           *to_flags("sample", cfg.section("sample")), *_teacher(cfg, "sample")]


def references_commands(cfg, L):
  os.makedirs(os.path.dirname(L.path("references", "x")), exist_ok=True)
  for d in _active(cfg, L, "test"):
    yield ["references", L.path("prepared", d.name), "--store", L.path("store"), "--out",
           L.path("references", d.name), "--split", "test", *to_flags("references", cfg.section("references")),
           *_teacher(cfg, "references")]


EXP3RT_STEPS = ("preferences", "profiles", "exp3rt-rationales")


def exp3rt_commands(cfg, L):
  section = _without(cfg.section("exp3rt"), "domains")
  for d in _active(cfg, L, "train", cfg.section("exp3rt").get("domains", [])):
    prepared, out = L.path("prepared", d.name), L.path("exp3rt", d.name)
    for step in EXP3RT_STEPS:
      yield [step, prepared, "--out", out, "--store", L.path("store"),
             *to_flags(step, section, only_known=True), *_teacher(cfg, step)]
    yield ["mf-baseline", prepared, "--out", os.path.join(out, "mf.json"),
           *to_flags("mf-baseline", section, only_known=True)]


def tasks_commands(cfg, L):
  exp3rt = cfg.section("exp3rt").get("domains", []) if "exp3rt" in cfg.sections else []
  store = ["--store", L.path("store")] if "sample" in cfg.sections else []
  yield ["tasks", *[L.path("prepared", d.name) for d in cfg.domains], "--out", L.path("tasks"),
         *store, "--temperature", str(cfg.section("sample").get("temperature", 0.7)),
         *[f"--wording={d.name}={d.wording}" for d in cfg.domains],
         *[f"--exp3rt={d}={L.path('exp3rt', d)}" for d in exp3rt], *to_flags("tasks", cfg.section("tasks"))]


def _gin(bindings: dict) -> list[str]:
  """Run-file values -> `--gin.KEY=VALUE` with VALUE a gin literal (strings quoted)."""
  import json  # pylint: disable=import-outside-toplevel
  return [f"--gin.{k}=" + (json.dumps(v) if isinstance(v, str) else repr(v)) for k, v in bindings.items()]


def train_commands(cfg, L):
  t = cfg.section("train")
  gin_files = t.pop("gin_file", ["tiny_cpu.gin"])
  gin_files = [gin_files] if isinstance(gin_files, str) else gin_files
  repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  for s in cfg.students():
    bindings = {**t, **s.get("gin", {}), "MODEL_DIR": os.path.abspath(L.path("train", s["name"])),
                "MIXTURE_OR_TASK_NAME": s["task"], "TASKS_CONFIG": os.path.join(L.path("tasks"), "tasks.json")}
    yield ["train", *[f"--gin_file={g}" for g in gin_files], f"--gin_search_path={repo}/gin", *_gin(bindings)]


def evaluate_commands(cfg, L):
  refs = [r for r in (L.path("references", d.name) for d in cfg.domains) if os.path.exists(r)]
  for s in _students(cfg, "evaluate"):
    eval_dir = L.path("eval", s["name"])
    yield ["evaluate", "--model-dir", L.path("train", s["name"]), "--task", s["eval_task"],
           "--tasks-config", os.path.join(L.path("tasks"), "tasks.json"), "--output-dir", eval_dir,
           "--label", s.get("label", s["name"]), *to_flags("evaluate", cfg.section("evaluate"))]
    if targets(s) == "reason" and refs:
      # One scoring call over every domain's predictions: one table, one BERTScore model load.
      yield ["reasoning-metrics", "--references", *refs, "--candidates",
             *sorted(glob.glob(os.path.join(eval_dir, "predictions_*.jsonl"))),
             "--out", os.path.join(eval_dir, "reasoning"),
             *to_flags("reasoning-metrics", cfg.section("reasoning_metrics"))]


def exp3rt_eval_commands(cfg, L):
  for d in cfg.section("exp3rt").get("domains", []):
    for s in _students(cfg, "exp3rt"):
      for profiles in ("student", "teacher"):
        yield ["exp3rt-evaluate", L.path("prepared", d), "--out", L.path("exp3rt", d), "--model-dir",
               L.path("train", s["name"]), "--vocabulary", _vocabulary(cfg, L), "--label", f"{s['name']} ({profiles} profiles)",
               "--output-dir", L.path("exp3rt_eval", d, s["name"], profiles),
               *(["--teacher-profiles"] if profiles == "teacher" else []),
               *to_flags("exp3rt-evaluate", cfg.section("exp3rt_eval"))]


def rerank_commands(cfg, L):
  section = cfg.section("rerank")
  chosen = [s for s in cfg.students() if s["name"] in section.pop("students", [])]
  section.setdefault("targets", targets(chosen[0]) if chosen else "rating")
  if "max_prompt_chars" in cfg.section("tasks"):
    section.setdefault("max_prompt_chars", cfg.section("tasks")["max_prompt_chars"])
  for d in _active(cfg, L, "test", section.pop("domains", [d.name for d in cfg.domains])):
    yield ["rerank", "--prepared", L.path("prepared", d.name), "--out", L.path("rerank", d.name),
           "--vocabulary", _vocabulary(cfg, L), "--wording", d.wording, "--reranker", "user-average",
           "--reranker", "item-average", *[f"--reranker=student:{s['name']}={L.path('train', s['name'])}"
                                           for s in chosen], *to_flags("rerank", section)]


def report_commands(cfg, L):
  reasoning = [s for s in _students(cfg, "evaluate") if targets(s) == "reason"]
  for d in cfg.section("exp3rt").get("domains", []):
    preds = [p for s in reasoning for p in glob.glob(os.path.join(L.path("eval", s["name"]), f"predictions_*_{d}_*.jsonl"))]
    yield ["exp3rt-report", L.path("prepared", d), "--out", L.path("exp3rt_report", d),
           "--mf", os.path.join(L.path("exp3rt", d), "mf.json"), "--exp3rt", *sorted(glob.glob(L.path("exp3rt_eval", d))),
           *(["--reasoning", *preds] if preds else [])]
  yield ["report", cfg.run_dir, "--out", L.path("report")]


def _each(name: str, keys: Callable[[RunConfig], Iterable[str]]):
  return lambda cfg, L: [L.path(name, k) for k in keys(cfg)]


_domains = lambda cfg: [d.name for d in cfg.domains]  # pylint: disable=unnecessary-lambda-assignment
_all_students = lambda cfg: [s["name"] for s in cfg.students()]  # pylint: disable=unnecessary-lambda-assignment
_has = lambda section: lambda cfg: section in cfg.sections  # pylint: disable=unnecessary-lambda-assignment

STAGES = (
    Stage("prepare", prepare_commands, _each("prepared", _domains), (), ("prepare",), "seconds"),
    Stage("baseline", lambda cfg, L: [["baseline", *[L.path("prepared", d.name) for d in cfg.domains], "--out",
                                       L.path("baseline")]], lambda cfg, L: [L.path("baseline")], ("prepare",)),
    Stage("zeroshot", zeroshot_commands, _each("zeroshot", _domains), ("prepare",), ("zeroshot", "teacher"),
          "minutes with the embedded teacher", _has("zeroshot")),
    # Writes only into the teacher's store, a cache keyed by each request: nothing to move aside.
    Stage("sample", sample_commands, lambda cfg, L: [], ("prepare",), ("sample", "teacher"), "minutes", _has("sample")),
    Stage("references", references_commands,
          lambda cfg, L: [p + ext for p in _each("references", _domains)(cfg, L) for ext in ("", ".summary.json")],
          ("prepare",), ("references", "teacher"), "minutes", _has("references")),
    Stage("exp3rt", exp3rt_commands, lambda cfg, L: [L.path("exp3rt", d) for d in cfg.section("exp3rt")["domains"]],
          ("prepare",), ("exp3rt", "teacher"), "minutes", _has("exp3rt")),
    Stage("tasks", tasks_commands, lambda cfg, L: [L.path("tasks")], ("prepare", "sample", "exp3rt"),
          ("tasks", "sample", "exp3rt"), "seconds"),
    Stage("train", train_commands, _each("train", _all_students), ("tasks",), ("train", "students"),
          "minutes per student on CPU"),
    Stage("evaluate", evaluate_commands, _each("eval", lambda cfg: [s["name"] for s in _students(cfg, "evaluate")]),
          ("train", "references"), ("evaluate", "reasoning_metrics", "students"), "a minute per student"),
    Stage("exp3rt_eval", exp3rt_eval_commands, lambda cfg, L: [L.path("exp3rt_eval", d) for d in
                                                               cfg.section("exp3rt")["domains"]],
          ("train", "exp3rt"), ("exp3rt_eval", "students"), "a minute", _has("exp3rt")),
    Stage("rerank", rerank_commands, lambda cfg, L: [L.path("rerank")], ("train",), ("rerank", "students", "tasks"),
          "a minute", _has("rerank")),
    Stage("report", report_commands, lambda cfg, L: [L.path("report")],
          ("baseline", "zeroshot", "references", "evaluate", "exp3rt_eval", "rerank"), ("report",), "seconds"),
)

# What each run-file section may hold (the subcommands whose flags are its keys, other keys).
SECTIONS = {
    "prepare": Section(("prepare",)),
    "teacher": Section(("zeroshot",), prefix="teacher_"),
    "zeroshot": Section(("zeroshot",)),
    "sample": Section(("sample",)),
    "references": Section(("references",)),
    "exp3rt": Section(EXP3RT_STEPS + ("mf-baseline",), {"domains": "list[str]"}),
    "tasks": Section(("tasks",)),
    "train": Section(keys={"gin_file": "str or list[str]"}, gin=True),
    "evaluate": Section(("evaluate",)),
    "reasoning_metrics": Section(("reasoning-metrics",)),
    "exp3rt_eval": Section(("exp3rt-evaluate",)),
    "rerank": Section(("rerank",), {"domains": "list[str]", "students": "list[str]"}),
    "report": Section(),
}


def print_results(cfg: RunConfig) -> None:
  """Prints the run's headline tables (also when every stage was up to date)."""
  L = RunLayout(cfg.run_dir)
  baseline = os.path.join(L.path("baseline"), "baseline.md")
  if os.path.exists(baseline):
    print("\nNaive user-average baseline, test split (Table 3 layout; '-' = undefined):")
    with open(baseline, encoding="utf-8") as f:
      print(f.read().rstrip())
  report = os.path.join(L.path("report"), "report.md")
  if os.path.exists(report):
    print(f"\nReport: {report} (and report.html beside it)")
