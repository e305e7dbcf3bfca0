"""Runs pipeline stages into one run directory; a stage whose inputs are unchanged is skipped.

Each finished stage writes `<run_dir>/stages/<name>.json` holding the fingerprint of what
produced it (its config section and the fingerprints of the stages before it). A stage reruns
when that fingerprint changes, when its record is missing (it never finished: stages resume
from their own partial outputs), or when asked with --from/--only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Callable, Optional, Sequence

from recsaver_t5x.data.io import write_json_atomic
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.pipeline.config import RunConfig


@dataclasses.dataclass(frozen=True)
class Stage:
  name: str
  run: Callable[[RunConfig, str], dict]  # (config, run_dir) -> summary written to the record
  sections: tuple[str, ...]  # run-file sections that affect this stage
  estimate: str = ""  # rough duration shown before the run starts


def fingerprint(cfg: RunConfig, stage: Stage, upstream: str) -> str:
  payload = {"sections": {s: cfg.section(s) for s in stage.sections},
             "domains": [dataclasses.asdict(d) for d in cfg.domains], "upstream": upstream}
  return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def run_stages(cfg: RunConfig, stages: Sequence[Stage], from_stage: Optional[str] = None,
               only: Optional[str] = None, log: Callable[[str], None] = print) -> dict[str, str]:
  """Runs `stages` in order; returns {stage: 'ran' | 'skipped'}."""
  names = [s.name for s in stages]
  for want in (from_stage, only):
    if want and want not in names:
      raise UserFacingError(f"unknown stage {want!r}; stages are: {', '.join(names)}")
  run_dir = cfg.run_dir
  os.makedirs(os.path.join(run_dir, "stages"), exist_ok=True)
  forced = set(names[names.index(from_stage):]) if from_stage else set()
  if only:
    forced = {only}
  log(f"run dir {run_dir}; stages: " + " -> ".join(f"{s.name} ({s.estimate})" if s.estimate else s.name
                                                    for s in stages))
  outcome, upstream = {}, ""
  for stage in stages:
    fp = fingerprint(cfg, stage, upstream)
    upstream = fp
    record_path = os.path.join(run_dir, "stages", f"{stage.name}.json")
    if only and stage.name != only:
      continue
    record = _read(record_path)
    if stage.name not in forced and record and record.get("fingerprint") == fp:
      log(f"[{stage.name}] up to date, skipped")
      outcome[stage.name] = "skipped"
      continue
    log(f"[{stage.name}] running")
    t0 = time.time()
    summary = stage.run(cfg, run_dir)
    write_json_atomic(record_path, {"stage": stage.name, "fingerprint": fp, "config": cfg.path,
                                    "seconds": round(time.time() - t0, 2), "finished": time.time(),
                                    "summary": summary})
    outcome[stage.name] = "ran"
  return outcome


def _read(path: str) -> Optional[dict]:
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return None
