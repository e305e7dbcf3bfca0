"""Shipped gin files: ours parse and configure the study's run; T5X's are well formed, and run
under real T5X when it is installed (skipped otherwise)."""
import glob
import importlib.util
import json
import os
import subprocess
import sys

import gin
import gin.config_parser as cp
import pytest

from recsaver_t5x.trainer import gin_utils
from tests.trainer import helpers

GIN = os.path.join(helpers.REPO, "gin")


class _Collect(cp.ParserDelegate):
  """Parses statements without importing anything (T5X is not installed here)."""

  def configurable_reference(self, scoped_name, evaluate):
    return f"@{scoped_name}{'()' if evaluate else ''}"

  def macro(self, name):
    return f"%{name}"


def _statements(path):
  with open(path, encoding="utf-8") as f:
    parser = cp.ConfigParser(f, _Collect())
    return list(iter(parser.parse_statement, None))


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(GIN, "**", "*.gin"),
                                               recursive=True)))
def test_gin_files_are_well_formed(path):
  statements = _statements(path)
  assert statements
  includes = [s.filename for s in statements if isinstance(s, cp.IncludeStatement)]
  for inc in includes:  # our includes resolve inside gin/ (T5X's inside the t5x package)
    if not inc.startswith("t5x/"):
      assert os.path.isfile(os.path.join(os.path.dirname(path), inc)), inc


@pytest.mark.parametrize("size,dims", [("small", (512, 8)), ("base", (768, 12)),
                                       ("large", (1024, 24)), ("xl", (2048, 24))])
def test_study_configs(size, dims):
  gin_utils.parse([f"flan_t5_{size}_finetune.gin"],
                  ["MODEL_DIR = '/tmp/x'", "MIXTURE_OR_TASK_NAME = 't'",
                   "INITIAL_CHECKPOINT_PATH = '/ckpt'"])
  q = gin.query_parameter
  assert (q("%TRAIN_STEPS"), q("%BATCH_SIZE"), q("%DROPOUT_RATE"), q("%LEARNING_RATE")) == (
      100000, 64, 0.25, 1e-4)
  assert q("optimizers.adafactor.decay_rate") == 0.8
  assert q("optimizers.learning_rate_schedule.factors") == "constant"
  from recsaver_t5x.model import config as model_config
  cfg = gin.get_configurable(model_config.get_config)()
  assert (cfg.emb_dim, cfg.num_encoder_layers, cfg.dropout_rate) == (*dims, 0.25)
  if size == "xl":
    assert q("%NUM_PARTITIONS") == 2 and cfg.remat
  gin.clear_config()


def test_t5x_gin_values():
  """The numbers in the real-T5X files (parsed without T5X)."""
  for size, step in [("small", 1198000), ("base", 1184000), ("large", 1164000),
                     ("xl", 1138000)]:
    st = _statements(os.path.join(GIN, "t5x", f"flan_t5_{size}_finetune.gin"))
    binds = {(s.scope, s.selector, s.arg_name): s.value for s in st
             if isinstance(s, cp.BindingStatement)}
    assert binds[("", "INITIAL_CHECKPOINT_PATH", "")].endswith(f"flan_t5_{size}/checkpoint_{step}")
    assert binds[("", "TRAIN_STEPS", "")] == step + 100000
    assert binds[("", "BATCH_SIZE", "")] == 64 and binds[("", "DROPOUT_RATE", "")] == 0.25
  tasks = {s.selector: s.value for s in _statements(os.path.join(GIN, "t5x", "tasks.gin"))
           if isinstance(s, cp.BindingStatement)}
  assert tasks["MIXTURE_OR_TASK_MODULE"] == "seqio_tasks.from_config"
  assert tasks["USE_CACHED_TASKS"] is False


T5X = importlib.util.find_spec("t5x") is not None


@pytest.mark.slow
@pytest.mark.skipif(not T5X, reason="T5X is not installed (see gin/t5x/README.md)")
def test_real_t5x_trains_on_our_tasks(tmp_path):  # pragma: no cover - needs T5X
  tasks = helpers.make_domain(str(tmp_path / "d"))
  spm = json.load(open(tasks))["vocabulary"]
  env = helpers.subprocess_env(RECSAVER_TASKS_CONFIG=tasks)
  model_dir = tmp_path / "t5x"
  common = ["--gin_search_paths=" + os.path.join(GIN, "t5x"), f"--gin.SPM='{spm}'",
            "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_all_m1'"]
  subprocess.run([sys.executable, "-m", "t5x.train", "--gin_file=tiny_cpu_test.gin",
                  f"--gin.MODEL_DIR='{model_dir}'", *common], env=env, check=True)
  assert (model_dir / "checkpoint_6").is_dir()
  # Our trainer's loader reads the checkpoint T5X just wrote.
  from recsaver_t5x.model import checkpoints
  assert "decoder" in checkpoints.load_t5x_checkpoint(str(model_dir / "checkpoint_6"))
