"""launch/: dry runs print exact commands; the generated SLURM script really runs (stand-ins for
srun/scontrol on PATH) and, with the real trainer, joins 2 CPU processes via jax.distributed."""
import json
import os
import shlex
import stat
import subprocess
import sys

import pytest

from tests.trainer import helpers

LAUNCH = [sys.executable, os.path.join(helpers.REPO, "launch", "launch.py")]
TRAIN_ARGS = ["--gin_file=tiny_cpu.gin", "--gin.MODEL_DIR=/runs/x y",
              "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_all_m1'"]


def _run(*args, env=None):
  return subprocess.run(LAUNCH + list(args), capture_output=True, text=True, check=True,
                        env=env or helpers.subprocess_env()).stdout


def _exe(path, text):
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def test_slurm_dry_run():
  out = _run("slurm", "--dry-run", "--nodes", "4", "--gpus-per-node", "8", "--partition", "gpu",
             "--workdir", "/home/u/recsaver", "--venv", "/home/u/venv", "--env", "XLA_FLAGS=--a",
             "--", *TRAIN_ARGS)
  for line in ["#SBATCH --nodes=4", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=8",
               "#SBATCH --partition=gpu", "cd /home/u/recsaver", "export XLA_FLAGS=--a",
               'export JAX_NUM_PROCESSES="$SLURM_NTASKS"', "srun --kill-on-bad-exit=1",
               "sbatch slurm_logs/recsaver-train.sbatch"]:
    assert line in out, line
  assert "scontrol show hostnames" in out and ":12355" in out
  assert "/home/u/venv/bin/python -m recsaver_t5x.cli train --distributed=on" in out


def test_t5x_gpu_flags_and_tpu_and_cache_dry_runs():
  out = _run("slurm", "--dry-run", "--trainer", "t5x-gpu", "--", "--gin_file=x.gin")
  assert "-m t5x.train --gin_file=x.gin)" in out
  assert '--multiprocess_gpu --coordinator_address="$JAX_COORDINATOR_ADDRESS"' in out
  assert '--process_index="$SLURM_PROCID"' in out
  out = _run("tpu", "--dry-run", "--tpu-name", "pod", "--zone", "us-central2-b", "--project",
             "p", "--workdir", "/home/u/r", "--venv", "/home/u/r/.venv", "--copy-repo", "--",
             *TRAIN_ARGS).splitlines()
  assert out[0].startswith("gcloud compute tpus tpu-vm scp --recurse ") and "--worker=all" in out[0]
  ssh = shlex.split(out[1])
  assert ssh[:7] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "pod", "--zone=us-central2-b"]
  assert "--worker=all" in ssh and "--project=p" in ssh
  remote = [a for a in ssh if a.startswith("--command=")][0][len("--command="):]
  assert shlex.split(remote)[:3] == ["cd", "/home/u/r", "&&"]
  assert shlex.split(remote)[3:] == ["/home/u/r/.venv/bin/python", "-m", "recsaver_t5x.cli",
                                     "train", "--distributed=on", *TRAIN_ARGS]
  out = _run("cache", "--dry-run", "--tasks", "recsaver_beauty_.*", "--output-cache-dir",
             "gs://b/c", "--tasks-config", "/tmp/t.json", "--runner", "DataflowRunner",
             "--pipeline-option=--project=p").splitlines()
  assert out[0] == "export RECSAVER_TASKS_CONFIG=/tmp/t.json"
  cmd = shlex.split(out[1])
  assert cmd[1:3] == ["-m", "seqio.scripts.cache_tasks_main"]
  assert "--module_import=seqio_tasks.from_config" in cmd and "--tasks=recsaver_beauty_.*" in cmd
  assert "--pipeline_options=--runner=DataflowRunner,--project=p" in cmd


def _fake_cluster(tmp_path):
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  _exe(bin_dir / "scontrol", "#!/bin/bash\necho 127.0.0.1\n")
  _exe(bin_dir / "srun", """#!/bin/bash
# stand-in for srun: one task per "node", all on this machine
while [[ "$1" == --* ]]; do shift; done
pids=()
for ((i = 0; i < SLURM_NTASKS; i++)); do SLURM_PROCID=$i "$@" & pids+=($!); done
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=$?; done; exit $rc
""")
  return bin_dir


def test_slurm_script_runs_with_exact_arguments(tmp_path):
  """The generated script, run by bash with stand-ins, gives each process the right argv/env."""
  venv = tmp_path / "venv"
  (venv / "bin").mkdir(parents=True)
  _exe(venv / "bin" / "python", f"""#!{sys.executable}
import json, os, sys
with open(os.path.join({str(tmp_path)!r}, "proc_" + os.environ["JAX_PROCESS_ID"] + ".json"), "w") as f:
  json.dump({{"argv": sys.argv[1:], "env": {{k: v for k, v in os.environ.items() if k.startswith("JAX_")}}}}, f)
""")
  script = tmp_path / "job.sbatch"
  _run("slurm", "--nodes", "2", "--gpus-per-node", "0", "--workdir", str(tmp_path),
       "--venv", str(venv), "--port", "4567", "--script-out", str(script), "--log-dir",
       str(tmp_path), "--dry-run", "--", *TRAIN_ARGS)  # dry run writes nothing
  assert not script.exists()
  text = _run("slurm", "--nodes", "2", "--gpus-per-node", "0", "--workdir", str(tmp_path),
              "--venv", str(venv), "--port", "4567", "--dry-run", "--", *TRAIN_ARGS)
  script.write_text(text.split("\n", 1)[1].rsplit("# submit:", 1)[0])
  env = dict(helpers.subprocess_env(), PATH=f"{_fake_cluster(tmp_path)}:{os.environ['PATH']}",
             SLURM_NTASKS="2", SLURM_JOB_NODELIST="node[1-2]")
  subprocess.run(["bash", str(script)], env=env, check=True, cwd=tmp_path)
  for i in range(2):
    rec = json.loads((tmp_path / f"proc_{i}.json").read_text())
    assert rec["argv"] == ["-m", "recsaver_t5x.cli", "train", "--distributed=on", *TRAIN_ARGS]
    assert rec["env"] == {"JAX_COORDINATOR_ADDRESS": "127.0.0.1:4567", "JAX_NUM_PROCESSES": "2",
                          "JAX_PROCESS_ID": str(i)}


def test_local_dry_run():
  out = _run("local", "--dry-run", "--num-processes", "2", "--port", "999", "--venv", "/v",
             "--", "--gin_file=tiny_cpu.gin").splitlines()
  assert out == [f"JAX_COORDINATOR_ADDRESS=127.0.0.1:999 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID={i} "
                 "/v/bin/python -m recsaver_t5x.cli train --distributed=on --gin_file=tiny_cpu.gin"
                 for i in range(2)]


@pytest.mark.slow
def test_two_cpu_processes_train_through_the_slurm_script(tmp_path):
  """jax.distributed on localhost: 2 processes x 1 CPU device train one model together."""
  tasks = helpers.make_domain(str(tmp_path / "d"))
  model_dir = tmp_path / "m"
  text = _run("slurm", "--nodes", "2", "--gpus-per-node", "0", "--workdir", str(helpers.REPO),
              "--venv", os.path.dirname(os.path.dirname(sys.executable)), "--port",
              str(_free_port()), "--env", f"PYTHONPATH={helpers.REPO}", "--dry-run", "--",
              "--gin_file=tiny_cpu.gin", f"--gin.MODEL_DIR={model_dir}",
              f"--gin.TASKS_CONFIG={tasks}",
              "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_all_m1'",
              "--gin.TASK_FEATURE_LENGTHS={'inputs': 256, 'targets': 24}",
              "--gin.TRAIN_STEPS=4", "--gin.CHECKPOINT_PERIOD=2", "--gin.LOG_EVERY=1")
  script = tmp_path / "job.sbatch"
  script.write_text(text.split("\n", 1)[1].rsplit("# submit:", 1)[0])
  env = dict(helpers.subprocess_env(), PATH=f"{_fake_cluster(tmp_path)}:{os.environ['PATH']}",
             SLURM_NTASKS="2", SLURM_JOB_NODELIST="node[1-2]")
  out = subprocess.run(["bash", str(script)], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=900)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "process 0 of 2" in out.stderr and "process 1 of 2" in out.stderr
  results = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
  assert len(results) == 2 and results[0]["loss"] == results[1]["loss"]  # one model, two hosts
  assert sorted(p.name for p in model_dir.glob("checkpoint_*")) == ["checkpoint_2", "checkpoint_4"]
  from recsaver_t5x.trainer import summaries
  assert sorted(summaries.read_metrics(str(model_dir))) == [1, 2, 3, 4]  # written once (process 0)


def _free_port():
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_shipped_example_is_the_generators_output():
  out = _run("slurm", "--dry-run", "--nodes", "2", "--gpus-per-node", "8", "--partition", "gpu",
             "--workdir", "/path/to/recsaver-t5x", "--venv", "/path/to/recsaver-t5x/.venv",
             "--script-out", "launch/examples/slurm_flan_t5_xl.sbatch", "--",
             "--gin_file=flan_t5_xl_finetune.gin", "--gin.MODEL_DIR=/shared/runs/xl",
             "--gin.TASKS_CONFIG=/shared/runs/tasks.json",
             "--gin.MIXTURE_OR_TASK_NAME='recsaver_mix_reason_all_m1'",
             "--gin.INITIAL_CHECKPOINT_PATH=/shared/ckpt/flan-t5-xl")
  script = out.split("\n", 1)[1].rsplit("# submit:", 1)[0]
  with open(os.path.join(helpers.REPO, "launch", "examples", "slurm_flan_t5_xl.sbatch"),
            encoding="utf-8") as f:
    assert f.read() == script
