"""Multi-process start-up: `jax.distributed.initialize` from the launcher's environment.

Must run before any JAX computation. Sources, in order:
  1. JAX_COORDINATOR_ADDRESS + JAX_NUM_PROCESSES + JAX_PROCESS_ID (explicit; local tests, any
     launcher);
  2. SLURM with more than one task (SLURM_NTASKS > 1): JAX's SLURM auto-detection;
  3. mode 'on' without either: JAX's auto-detection (Cloud TPU pods, Open MPI, ...).
"""
from __future__ import annotations

import logging
import os
from typing import Mapping, Optional

log = logging.getLogger(__name__)
MODES = ("auto", "on", "off")


def plan(mode: str = "auto", env: Optional[Mapping[str, str]] = None) -> Optional[dict]:
  """The keyword arguments `initialize` would pass to jax.distributed.initialize (None: skip)."""
  env = os.environ if env is None else env
  if mode not in MODES:
    raise ValueError(f"distributed mode must be one of {MODES}, got {mode!r}")
  if mode == "off":
    return None
  if env.get("JAX_COORDINATOR_ADDRESS") and env.get("JAX_NUM_PROCESSES"):
    return {"coordinator_address": env["JAX_COORDINATOR_ADDRESS"],
            "num_processes": int(env["JAX_NUM_PROCESSES"]),
            "process_id": int(env.get("JAX_PROCESS_ID", "0"))}
  if int(env.get("SLURM_NTASKS", "1")) > 1 or mode == "on":
    return {}  # JAX detects SLURM / TPU pod / MPI itself
  return None


def initialize(mode: str = "auto") -> bool:
  """Calls jax.distributed.initialize when the environment asks for several processes."""
  kwargs = plan(mode)
  if kwargs is None:
    return False
  import jax  # pylint: disable=import-outside-toplevel
  jax.distributed.initialize(**kwargs)
  log.info("jax.distributed: process %d of %d, %d local / %d global devices",
           jax.process_index(), jax.process_count(), jax.local_device_count(),
           jax.device_count())
  return True
