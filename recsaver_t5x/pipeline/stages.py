"""The stages of `recsaver run`, in order. Each reads the run file and writes under the run dir."""
from __future__ import annotations

import os

from recsaver_t5x.pipeline.config import RunConfig
from recsaver_t5x.pipeline.runner import Stage


def prepared_dir(run_dir: str, domain: str) -> str:
  return os.path.join(run_dir, "prepared", domain)


def run_prepare(cfg: RunConfig, run_dir: str) -> dict:
  from recsaver_t5x.data import prepare  # pylint: disable=import-outside-toplevel
  p = cfg.section("prepare")
  out = {}
  for d in cfg.domains:
    pc = prepare.PrepareConfig(domain=d.name, reviews=d.reviews, meta=d.meta, **p)
    manifest = prepare.prepare(pc, prepared_dir(run_dir, d.name))
    print(f"[prepare] {d.name}:")
    for line in prepare.summarize(manifest):
      print(f"    {line}")
    out[d.name] = manifest["counts"]
  return out


def run_baseline(cfg: RunConfig, run_dir: str) -> dict:
  from recsaver_t5x.eval import baseline_cli, rating_metrics  # pylint: disable=import-outside-toplevel
  rows = baseline_cli.baseline_rows([prepared_dir(run_dir, d.name) for d in cfg.domains], "test")
  table = rating_metrics.format_table(rows)
  out_dir = os.path.join(run_dir, "baseline")
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "baseline.md"), "w", encoding="utf-8") as f:
    f.write(table + "\n")
  return {name: m for name, m in rows}


def print_results(cfg: RunConfig) -> None:
  """Prints the run's result tables (also when every stage was up to date)."""
  path = os.path.join(cfg.run_dir, "baseline", "baseline.md")
  if os.path.exists(path):
    print("\nNaive user-average baseline, test split (Table 3 layout; '-' = undefined):")
    with open(path, encoding="utf-8") as f:
      print(f.read().rstrip())


STAGES = (
    Stage("prepare", run_prepare, ("prepare",), "seconds"),
    Stage("baseline", run_baseline, (), "seconds"),
)
