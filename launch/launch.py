#!/usr/bin/env python3
"""Start `recsaver train` (or real T5X) beyond one process: SLURM, TPU VM pods, local processes,
and SeqIO offline caching. Standard library only; `--dry-run` prints the exact commands,
scripts and environment instead of running them.

  launch.py slurm --nodes 4 --gpus-per-node 8 -- --gin_file=flan_t5_xl_finetune.gin ...
  launch.py tpu --tpu-name my-pod --zone us-central2-b -- --gin_file=flan_t5_base_finetune.gin ...
  launch.py local --num-processes 2 -- --gin_file=tiny_cpu.gin ...
  launch.py cache --tasks recsaver_beauty_reason_all_m1 --output-cache-dir gs://b/cache \\
      --tasks-config runs/tasks.json

Arguments after `--` go to the trainer unchanged. One process per host: each process sees all
of its host's accelerators; `jax.distributed.initialize` joins them (our trainer reads
JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID; T5X gets its own flags).
"""
from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import time
from typing import Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ trainer command lines

def trainer_command(trainer: str, venv: str, trainer_args: Sequence[str],
                    distributed: Optional[dict] = None) -> list[str]:
  """The per-process command. `distributed` (T5X only): coordinator/count/index flags."""
  python = os.path.join(venv, "bin", "python")
  if trainer == "recsaver":
    return [python, "-m", "recsaver_t5x.cli", "train", "--distributed=on", *trainer_args]
  if trainer in ("t5x", "t5x-gpu"):
    cmd = [python, "-m", "t5x.train", *trainer_args]
    if trainer == "t5x-gpu" and distributed:
      cmd += ["--multiprocess_gpu", f"--coordinator_address={distributed['coordinator']}",
              f"--process_count={distributed['count']}",
              f"--process_index={distributed['index']}"]
    return cmd
  raise SystemExit(f"unknown trainer {trainer!r}")


def _env_lines(env: dict) -> list[str]:
  return [f"export {k}={shlex.quote(str(v))}" for k, v in sorted(env.items())]


def _parse_env(pairs: Sequence[str]) -> dict:
  out = {}
  for p in pairs:
    if "=" not in p:
      raise SystemExit(f"--env expects KEY=VALUE, got {p!r}")
    k, v = p.split("=", 1)
    out[k] = v
  return out


# ------------------------------------------------------------------ SLURM

def slurm_script(args, trainer_args: Sequence[str]) -> str:
  """An sbatch script: one task per node, every task runs one trainer process."""
  sb = [f"#SBATCH --job-name={args.job_name}", f"#SBATCH --nodes={args.nodes}",
        "#SBATCH --ntasks-per-node=1", f"#SBATCH --cpus-per-task={args.cpus_per_task}",
        f"#SBATCH --time={args.time}", f"#SBATCH --output={args.log_dir}/%x-%j.out"]
  if args.gpus_per_node:
    sb.append(f"#SBATCH --gpus-per-node={args.gpus_per_node}")
  if args.partition:
    sb.append(f"#SBATCH --partition={args.partition}")
  if args.account:
    sb.append(f"#SBATCH --account={args.account}")
  sb += [f"#SBATCH {x}" for x in args.sbatch_option]
  cmd = trainer_command(args.trainer, args.venv, trainer_args)
  per_task = 'export JAX_PROCESS_ID="$SLURM_PROCID"; exec "$@"'
  if args.trainer == "t5x-gpu":
    # T5X takes the multi-process set-up as flags, expanded per task.
    per_task += (' --multiprocess_gpu --coordinator_address="$JAX_COORDINATOR_ADDRESS"'
                 ' --process_count="$JAX_NUM_PROCESSES" --process_index="$SLURM_PROCID"')
  lines = ["#!/bin/bash", *sb, "", "set -euo pipefail", f"cd {shlex.quote(args.workdir)}",
           *_env_lines(_parse_env(args.env)),
           "# The first node coordinates; every task is one JAX process with all its GPUs.",
           'export JAX_COORDINATOR_ADDRESS="$(scontrol show hostnames "$SLURM_JOB_NODELIST"'
           f' | head -n 1):{args.port}"',
           'export JAX_NUM_PROCESSES="$SLURM_NTASKS"',
           "CMD=(" + " ".join(shlex.quote(c) for c in cmd) + ")",
           "srun --kill-on-bad-exit=1 --ntasks-per-node=1 bash -c "
           + shlex.quote(per_task) + ' bash "${CMD[@]}"', ""]
  return "\n".join(lines)


def cmd_slurm(args, trainer_args) -> int:
  script = slurm_script(args, trainer_args)
  path = args.script_out or os.path.join(args.log_dir, f"{args.job_name}.sbatch")
  submit = ["sbatch", path]
  if args.dry_run:
    print(f"# script {path}:\n{script}")
    print("# submit:\n" + shlex.join(submit))
    return 0
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  os.makedirs(args.log_dir, exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write(script)
  return subprocess.call(submit)


# ------------------------------------------------------------------ TPU VM pods

def tpu_commands(args, trainer_args) -> list[list[str]]:
  """gcloud commands: copy the checkout to every worker (optional), then train on all workers."""
  base = ["gcloud", "compute", "tpus", "tpu-vm"]
  where = [args.tpu_name, f"--zone={args.zone}"] + (
      [f"--project={args.project}"] if args.project else [])
  env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(_parse_env(args.env).items()))
  # On TPU pods JAX finds its peers itself (jax.distributed.initialize() without arguments).
  train = shlex.join(trainer_command(args.trainer, args.venv, trainer_args))
  remote = f"cd {shlex.quote(args.workdir)} && " + (f"env {env} " if env else "") + train
  cmds = []
  if args.copy_repo:
    cmds.append(base + ["scp", "--recurse", REPO, f"{args.tpu_name}:{os.path.dirname(args.workdir)}",
                        "--worker=all"] + where[1:])
  cmds.append(base + ["ssh"] + where + ["--worker=all", f"--command={remote}"])
  return cmds


def cmd_tpu(args, trainer_args) -> int:
  cmds = tpu_commands(args, trainer_args)
  if args.dry_run:
    for c in cmds:
      print(shlex.join(c))
    return 0
  for c in cmds:
    rc = subprocess.call(c)
    if rc:
      return rc
  return 0


# ------------------------------------------------------------------ local processes

def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def local_envs(n: int, port: int, base_env: dict) -> list[dict]:
  return [dict(base_env, JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES=str(n),
               JAX_PROCESS_ID=str(i)) for i in range(n)]


def cmd_local(args, trainer_args) -> int:
  """N trainer processes on this machine joined by jax.distributed (tests, one multi-GPU host)."""
  port = args.port or free_port()
  extra = _parse_env(args.env)
  envs = local_envs(args.num_processes, port, extra)
  cmd = trainer_command(args.trainer, args.venv, trainer_args)
  if args.dry_run:
    for e in envs:
      shown = {k: e[k] for k in sorted(e) if k.startswith("JAX_") or k in extra}
      print(" ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items()) + " " + shlex.join(cmd))
    return 0
  procs = []
  for i, e in enumerate(envs):
    log = open(os.path.join(args.log_dir, f"process_{i}.log"), "w") if args.log_dir else None
    procs.append(subprocess.Popen(cmd, env=dict(os.environ, **e), cwd=args.workdir,
                                  stdout=log, stderr=subprocess.STDOUT if log else None))
  rcs = [None] * len(procs)
  while any(rc is None for rc in rcs):
    for i, p in enumerate(procs):
      rcs[i] = p.poll()
      if rcs[i] not in (None, 0):  # one failed: stop the others (they would wait forever)
        for q in procs:
          if q.poll() is None:
            q.kill()
        return rcs[i]
    time.sleep(0.2)
  return 0


# ------------------------------------------------------------------ SeqIO offline cache

def cache_command(args) -> tuple[dict, list[str]]:
  env = {"RECSAVER_TASKS_CONFIG": os.path.abspath(args.tasks_config)} if args.tasks_config else {}
  cmd = [os.path.join(args.venv, "bin", "python"), "-m", "seqio.scripts.cache_tasks_main",
         "--module_import=seqio_tasks.from_config", f"--tasks={args.tasks}",
         f"--output_cache_dir={args.output_cache_dir}", "--alsologtostderr",
         f"--pipeline_options=--runner={args.runner}"
         + "".join("," + o for o in args.pipeline_option)]
  return env, cmd


def cmd_cache(args, trainer_args) -> int:
  del trainer_args
  env, cmd = cache_command(args)
  if args.dry_run:
    print("\n".join(_env_lines(env)))
    print(shlex.join(cmd))
    return 0
  return subprocess.call(cmd, env=dict(os.environ, **env), cwd=args.workdir)


# ------------------------------------------------------------------ CLI

def build_parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  sub = p.add_subparsers(dest="cmd", required=True)

  def common(sp, trainer=True):
    sp.add_argument("--dry-run", action="store_true", help="print commands, run nothing")
    sp.add_argument("--workdir", default=REPO, help="checkout on the machines (default: this one)")
    sp.add_argument("--venv", default=os.path.join(REPO, ".venv"), help="virtualenv there")
    sp.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the processes (repeatable)")
    if trainer:
      sp.add_argument("--trainer", choices=("recsaver", "t5x", "t5x-gpu"), default="recsaver",
                      help="recsaver train, or real T5X (t5x-gpu adds its multi-process flags)")

  s = sub.add_parser("slurm", help="sbatch script: one process per node")
  common(s)
  s.add_argument("--nodes", type=int, default=1)
  s.add_argument("--gpus-per-node", type=int, default=8)
  s.add_argument("--cpus-per-task", type=int, default=16)
  s.add_argument("--partition")
  s.add_argument("--account")
  s.add_argument("--time", default="24:00:00")
  s.add_argument("--job-name", default="recsaver-train")
  s.add_argument("--port", type=int, default=12355, help="coordinator port on the first node")
  s.add_argument("--log-dir", default="slurm_logs")
  s.add_argument("--script-out", help="where to write the sbatch script")
  s.add_argument("--sbatch-option", action="append", default=[], help="extra #SBATCH line")
  s.set_defaults(fn=cmd_slurm)

  t = sub.add_parser("tpu", help="gcloud tpu-vm ssh --worker=all")
  common(t)
  t.add_argument("--tpu-name", required=True)
  t.add_argument("--zone", required=True)
  t.add_argument("--project")
  t.add_argument("--copy-repo", action="store_true",
                 help="first scp this checkout to --workdir's parent on every worker")
  t.set_defaults(fn=cmd_tpu)

  l = sub.add_parser("local", help="N processes on this machine (jax.distributed on 127.0.0.1)")
  common(l)
  l.add_argument("--num-processes", type=int, default=2)
  l.add_argument("--port", type=int, default=0, help="coordinator port (default: a free one)")
  l.add_argument("--log-dir", help="write process_<i>.log files here")
  l.set_defaults(fn=cmd_local)

  c = sub.add_parser("cache", help="seqio cache_tasks_main (Apache Beam) for large datasets")
  common(c, trainer=False)
  c.add_argument("--tasks", required=True, help="comma-separated task names or regexes")
  c.add_argument("--output-cache-dir", required=True)
  c.add_argument("--tasks-config", help="seqio_tasks JSON config (RECSAVER_TASKS_CONFIG)")
  c.add_argument("--runner", default="DirectRunner", help="Beam runner (DataflowRunner, ...)")
  c.add_argument("--pipeline-option", action="append", default=[],
                 help="extra Beam pipeline option, e.g. --project=p (repeatable)")
  c.set_defaults(fn=cmd_cache)
  return p


def main(argv: Optional[Sequence[str]] = None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  trainer_args: list[str] = []
  if "--" in argv:
    i = argv.index("--")
    argv, trainer_args = argv[:i], argv[i + 1:]
  args = build_parser().parse_args(argv)
  return args.fn(args, trainer_args)


if __name__ == "__main__":
  sys.exit(main())
