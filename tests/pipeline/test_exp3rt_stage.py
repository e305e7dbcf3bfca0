"""configs/exp3rt_demo.toml through `recsaver run` with cut limits: the exp3rt stage (embedded
teacher), the tasks stage adding the EXP3RT directory, training, exp3rt_eval and the report's table."""
import json
import os
import re
import subprocess
import sys

import pytest

from recsaver_t5x.pipeline import config

pytestmark = pytest.mark.slow

CUTS = {"limit = 10": "limit = 3", "user_cap = 4": "user_cap = 2", "item_cap = 3": "item_cap = 2",
        "TRAIN_STEPS = 60": "TRAIN_STEPS = 4", "train_per_label = 8": "train_per_label = 3",
        "test_per_label = 4": "test_per_label = 2", "servers = 2": "servers = 1",
        "max_tokens = 120": "max_tokens = 48"}


def test_exp3rt_demo_runs_with_small_limits(tmp_path, amazon_dir):
  text = (config.DEFAULT_CONFIG.parent / "exp3rt_demo.toml").read_text()
  for old, new in CUTS.items():
    text = text.replace(old, new)
  text = re.sub(r'^run_dir = .*$', f'run_dir = "{tmp_path / "run"}"', text, flags=re.M)
  text = re.sub(r'^data_root = .*$', f'data_root = "{amazon_dir}"', text, flags=re.M)
  path = tmp_path / "exp3rt.toml"
  path.write_text(text)
  proc = subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "run", str(path)],
                        capture_output=True, text=True, timeout=1500)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  run = tmp_path / "run"
  mag = "magazine_subscriptions"
  tasks = json.loads((run / "tasks" / "tasks.json").read_text())
  assert os.path.normpath(run / "tasks" / tasks["domains"][0]["exp3rt"]) == str(run / "exp3rt" / mag)
  for profiles in ("student", "teacher"):
    metrics = json.loads((run / "exp3rt" / mag / f"eval_exp3rt_{profiles}" / "metrics.json").read_text())
    assert metrics["profiles"] == profiles
  assert (run / "exp3rt" / mag / "mf.json").exists()
  table = (run / "report" / f"exp3rt_{mag}.md").read_text()
  assert "MF" in table or "mf" in table.lower()
  assert "EXP3RT: rating from profiles" in (run / "report" / "report.md").read_text()
