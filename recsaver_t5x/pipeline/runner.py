"""Runs pipeline stages into one run directory; never reuses results of another configuration.

A stage's fingerprint covers its run-file sections, the domains, its input stages' fingerprints
and the toolkit version (package version + git commit). While it runs, `stages/<name>.started.json`
holds that fingerprint; when it finishes, `stages/<name>.json`. Then, on the next run:
  same fingerprint, finished          -> skipped;
  same fingerprint, started only      -> rerun in place: the stage resumes its partial outputs
                                         (teacher store, checkpoints, appended predictions);
  new fingerprint or forced (--from, --only), or outputs without a record
                                      -> its outputs are moved to stale/<name>-<old fingerprint>/
                                         first, so nothing of the old configuration is reused.
"""
from __future__ import annotations

import dataclasses
import functools
import glob
import hashlib
import json
import os
import subprocess
import time
from typing import Callable, Optional, Sequence

from recsaver_t5x import __version__
from recsaver_t5x.data.io import write_json_atomic
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.pipeline.cli_args import run_subcommand
from recsaver_t5x.pipeline.config import RunConfig
from recsaver_t5x.pipeline.layout import RunLayout


@functools.lru_cache(maxsize=None)
@functools.lru_cache(maxsize=None)
def toolkit_version() -> str:
  """'0.1.0' or '0.1.0+<git commit>' when the package sits in a git checkout.

  Read once per process: one run is one toolkit version, even if a commit lands while it runs."""
  try:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=os.path.dirname(os.path.abspath(__file__)),
                            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    commit = ""
  return f"{__version__}+{commit}" if commit else __version__


def fingerprint(cfg: RunConfig, stage, inputs: dict[str, str]) -> str:
  payload = {"stage": stage.name, "sections": {s: cfg.section(s) for s in stage.reads},
             "domains": [dataclasses.asdict(d) for d in cfg.domains],
             "inputs": {i: inputs.get(i, "") for i in stage.inputs}, "toolkit": toolkit_version()}
  return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _move_aside(cfg: RunConfig, stage, L: RunLayout, old: str, log: Callable[[str], None]) -> None:
  dest_root = L.path("stale", f"{stage.name}-{old}")
  for pattern in stage.outputs(cfg, L):
    for path in sorted(glob.glob(pattern)):
      dest = os.path.join(dest_root, os.path.relpath(path, cfg.run_dir))
      n = 1
      while os.path.exists(dest):
        dest, n = os.path.join(f"{dest_root}.{n}", os.path.relpath(path, cfg.run_dir)), n + 1
      os.makedirs(os.path.dirname(dest), exist_ok=True)
      os.replace(path, dest)
      log(f"  moved aside: {os.path.relpath(path, cfg.run_dir)} -> {os.path.relpath(dest, cfg.run_dir)}")


def run_stages(cfg: RunConfig, stages: Sequence, from_stage: Optional[str] = None,
               only: Optional[str] = None, log: Callable[[str], None] = print) -> dict[str, str]:
  """Runs the enabled `stages` in order; returns {stage: 'ran' | 'skipped'}."""
  stages = [s for s in stages if s.enabled(cfg)]
  names = [s.name for s in stages]
  for want in (from_stage, only):
    if want and want not in names:
      raise UserFacingError(f"unknown stage {want!r}; this run file's stages are: {', '.join(names)}")
  L = RunLayout(cfg.run_dir)
  os.makedirs(os.path.dirname(L.path("record", "x")), exist_ok=True)
  forced = {only} if only else set(names[names.index(from_stage):]) if from_stage else set()
  log(f"run dir {cfg.run_dir}; stages: " + " -> ".join(f"{s.name} ({s.estimate})" if s.estimate else s.name
                                                        for s in stages))
  outcome, fps = {}, {}
  for stage in stages:
    fp = fps[stage.name] = fingerprint(cfg, stage, fps)
    if only and stage.name != only:
      continue
    done_path, started_path = L.path("record", stage.name), L.path("record", stage.name + ".started")
    done, started = _read(done_path), _read(started_path)
    if stage.name not in forced and done and done.get("fingerprint") == fp:
      log(f"[{stage.name}] up to date, skipped")
      outcome[stage.name] = "skipped"
      continue
    if stage.name in forced or not (started and started.get("fingerprint") == fp):
      _move_aside(cfg, stage, L, (done or started or {}).get("fingerprint", "unrecorded"), log)
    else:
      log(f"[{stage.name}] resuming an interrupted run with the same fingerprint")
    if os.path.exists(done_path):
      os.remove(done_path)
    write_json_atomic(started_path, {"stage": stage.name, "fingerprint": fp, "started": time.time()})
    log(f"[{stage.name}] running")
    t0, commands = time.time(), []
    for argv in stage.commands(cfg, L):
      run_subcommand(argv)
      commands.append(argv)
    write_json_atomic(done_path, {"stage": stage.name, "fingerprint": fp, "inputs": {i: fps.get(i, "") for i in stage.inputs},
                                  "toolkit": toolkit_version(), "config": cfg.path,
                                  "seconds": round(time.time() - t0, 2), "finished": time.time(), "commands": commands})
    os.remove(started_path)
    outcome[stage.name] = "ran"
  return outcome


def _read(path: str) -> Optional[dict]:
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return None
