"""Where every stage of `recsaver run` keeps its files: the one source of the run-dir layout.

Stages, the report and the tests ask `RunLayout.path(name, key)`; the README's table is
`markdown_table()` (tests/pipeline/test_layout.py checks that they agree).
"""
from __future__ import annotations

import dataclasses
import os
import re

# name -> (path under the run dir with {placeholders}, written by, what is there)
PATHS: dict[str, tuple[str, str, str]] = {
    "prepared": ("prepared/{domain}/", "prepare", "`train.jsonl`, `test.jsonl`, `manifest.json`"),
    "baseline": ("baseline/", "baseline", "`baseline.md`/`.csv`: naive user-average rows (Table 3 layout)"),
    "store": ("teacher/samples.jsonl", "zeroshot, sample, references, exp3rt",
              "every teacher call, keyed by its request and resumable (a cache: never stale)"),
    "zeroshot": ("zeroshot/{domain}/", "zeroshot", "`zeroshot.md`/`.csv` (Table 3), `predictions.jsonl`, `run.json`"),
    "references": ("references/{domain}.jsonl", "references",
                   "verified references per example, `.summary.json` pass rates"),
    "exp3rt": ("exp3rt/{domain}/", "exp3rt, exp3rt_eval",
               "EXP3RT preferences, profiles, rationales, `mf.json`; student chain evaluations"),
    "exp3rt_eval": ("exp3rt/{domain}/eval_{student}_{profiles}/", "exp3rt_eval",
                    "chained EXP3RT student inference with its own or the teacher's profiles: predictions, metrics"),
    "tasks": ("tasks/", "tasks", "`spm.model` (offline vocabulary), `tasks.json` (SeqIO domains)"),
    "train": ("train/{student}/", "train", "orbax checkpoints, `train_metrics.jsonl`, TensorBoard events, `config.gin`"),
    "eval": ("eval/{student}/", "evaluate", "`predictions_<task>.jsonl` (text, rating, probabilities, model step and "
             "fingerprint), `metrics.json`/`.md`, `reasoning/`"),
    "rerank": ("rerank/{domain}/", "rerank", "`rerank.md`/`.json`, `ndcg_at_k.png`, per-student predictions"),
    "report": ("report/", "report", "`report.md`, `report.html` (self-contained), PNG plots"),
    "exp3rt_report": ("report/exp3rt_{domain}.md", "report", "the EXP3RT rating table of a domain"),
    "record": ("stages/{stage}.json", "runner", "fingerprint, commands and seconds of each finished stage "
               "(`<stage>.started.json` while it runs)"),
    "stale": ("stale/{attempt}/", "runner", "outputs of a stage whose fingerprint changed or that was forced, "
              "moved aside (attempt = `<stage>-<old fingerprint>`), never reused"),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclasses.dataclass(frozen=True)
class RunLayout:
  run_dir: str

  def path(self, name: str, *keys: str) -> str:
    """The path of `name` with its placeholders filled in order (missing ones: '*', a glob)."""
    fill = iter(keys)
    return os.path.join(self.run_dir, _PLACEHOLDER.sub(lambda _: next(fill, "*"), PATHS[name][0])).rstrip("/")


def markdown_table() -> str:
  """The README's run-directory table."""
  rows = ["| path | written by | what |", "|---|---|---|"]
  for template, writer, what in PATHS.values():
    rows.append(f"| `{_PLACEHOLDER.sub(lambda m: '<' + m.group(1) + '>', template)}` | {writer} | {what} |")
  return "\n".join(rows)
