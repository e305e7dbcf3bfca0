"""Shipped gin files: ours parse and configure the study's run; T5X's are well formed, and run
under real T5X when it is installed (skipped otherwise)."""
import glob
import json
import os
import re
import subprocess
import sys

import gin
import numpy as np
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


T5X_SRC = os.environ.get("RECSAVER_T5X_SRC", "")


def _t5x_env(**extra) -> dict:
  """Child env with the T5X checkout named by $RECSAVER_T5X_SRC first on PYTHONPATH."""
  return helpers.subprocess_env(T5X_SRC, **extra)


def _t5x_skip_reason() -> str:
  """Why the real-T5X test cannot run here ('' when it can)."""
  if not T5X_SRC:
    return ("set RECSAVER_T5X_SRC to a T5X source checkout (and run pytest with a python that "
            "has T5X's dependencies; see gin/t5x/README.md)")
  if not os.path.isfile(os.path.join(T5X_SRC, "t5x", "train.py")):
    return f"RECSAVER_T5X_SRC={T5X_SRC} is not a T5X checkout (no t5x/train.py)"
  probe = subprocess.run([sys.executable, "-c", "import t5x.train, t5x.eval, t5x.infer"],
                         env=_t5x_env(), capture_output=True, text=True)
  if probe.returncode:
    return f"T5X at {T5X_SRC} does not import: {probe.stderr.strip().splitlines()[-1]}"
  return ""


_BIND_FLAN = """
import sys, gin
from t5x import gin_utils, train
sys.modules['__main__'] = train  # the finetune gins import __main__ as train_script
gin_utils.parse_gin_flags(sys.argv[1:2], [sys.argv[2]], sys.argv[3:])
model = gin.query_parameter('%MODEL').scoped_configurable_fn()
print(type(model).__name__, model.module.config.vocab_size, model.module.config.emb_dim,
      type(model.output_vocabulary).__name__, model._decode_fn.__name__,
      model._default_decoder_params.num_decodes)
"""


@pytest.mark.slow
def test_real_t5x_trains_on_our_tasks(tmp_path):  # pragma: no cover - needs T5X
  """t5x.train, t5x.eval and t5x.infer on our tasks; the four Flan-T5 gins bind in T5X."""
  reason = _t5x_skip_reason()
  if reason:
    pytest.skip(reason)
  tasks = helpers.make_domain(str(tmp_path / "d"))
  spm = json.load(open(tasks))["vocabulary"]
  env = _t5x_env(RECSAVER_TASKS_CONFIG=tasks)
  model_dir = tmp_path / "t5x"
  search = "--gin_search_paths=" + os.path.join(GIN, "t5x")
  small = "--gin.TASK_FEATURE_LENGTHS={'inputs': 128, 'targets': 32}"
  common = [search, f"--gin.SPM='{spm}'"]
  subprocess.run([sys.executable, "-m", "t5x.train", "--gin_file=tiny_cpu_test.gin",
                  f"--gin.MODEL_DIR='{model_dir}'", *common,
                  "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_all_m1'"],
                 env=env, check=True)
  ckpt = model_dir / "checkpoint_6"
  assert ckpt.is_dir()
  # Our trainer's loader reads the checkpoint T5X just wrote.
  from recsaver_t5x.model import checkpoints
  assert "decoder" in checkpoints.load_t5x_checkpoint(str(ckpt))

  # tiny_model.gin first: it includes T5X's tiny.gin, which resets what eval/infer.gin set.
  run = [*common, "--gin_file=tiny_model.gin", f"--gin.CHECKPOINT_PATH='{ckpt}'", small,
         "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_eval'",
         "--gin.utils.DatasetConfig.batch_size=4"]
  subprocess.run([sys.executable, "-m", "t5x.eval", *run, "--gin_file=eval.gin",
                  f"--gin.EVAL_OUTPUT_DIR='{tmp_path / 'eval'}'"], env=env, check=True)
  metrics_files = glob.glob(str(tmp_path / "eval" / "inference_eval" / "*-metrics.jsonl"))
  assert metrics_files
  got = json.loads(open(metrics_files[0]).readline())
  for key in ("binary_auc", "multi_auc", "n", "n_unparsed"):  # both fns, one aux pass
    assert any(k.endswith(key) for k in got), (key, sorted(got))
  subprocess.run([sys.executable, "-m", "t5x.infer", *run, "--gin_file=infer.gin",
                  f"--gin.INFER_OUTPUT_DIR='{tmp_path / 'infer'}'"], env=env, check=True)
  rows = [json.loads(line) for f in glob.glob(str(tmp_path / "infer" / "*.jsonl*"))
          for line in open(f)]
  assert len(rows) == 8  # make_domain's test split
  ids = sorted(r["inputs"]["example_id_pretokenized"] for r in rows)
  assert ids == sorted(f"te{i}" for i in range(8)), ids
  assert all(len(r["aux"]["rating_probs"]) == 5 for r in rows)
  # infer.gin restores float32 as eval.gin does: both give the same text and probabilities.
  evals = {r["target"]["example_id"]: r for f in glob.glob(
      str(tmp_path / "eval" / "inference_eval" / "*-000006.jsonl")) for r in map(json.loads, open(f))}
  for r in rows:
    e = evals[r["inputs"]["example_id_pretokenized"]]
    assert r["prediction"] == e["output"]
    np.testing.assert_allclose(r["aux"]["rating_probs"], e["aux_rating_probs"], atol=1e-6)

  # The four Flan-T5 gins parse and bind with T5X's own gin utilities (tiny model override).
  tiny = ["network.T5Config.emb_dim = 8", "network.T5Config.num_heads = 2",
          "network.T5Config.num_encoder_layers = 1", "network.T5Config.num_decoder_layers = 1",
          "network.T5Config.head_dim = 4", "network.T5Config.mlp_dim = 8",
          f"seqio.SentencePieceVocabulary.sentencepiece_model_file = '{spm}'",
          "MODEL_DIR = '/tmp/unused'", "MIXTURE_OR_TASK_NAME = 'recsaver_beauty_reason_all_m1'"]
  for size in ("small", "base", "large", "xl"):
    out = subprocess.run([sys.executable, "-c", _BIND_FLAN, os.path.join(GIN, "t5x"),
                          f"flan_t5_{size}_finetune.gin", *tiny], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["RatingEncoderDecoderModel", "32128", "8", "SentencePieceVocabulary",
                   "temperature_sample", "1"], (size, out)

  # A vocabulary larger than the model's embedding is refused when T5X builds the model.
  bad = subprocess.run([sys.executable, "-c", _BIND_FLAN, os.path.join(GIN, "t5x"),
                        "tiny_cpu_test.gin", f"SPM = '{spm}'", "VOCAB_SIZE = 64",
                        "MODEL_DIR = '/tmp/unused'", "MIXTURE_OR_TASK_NAME = 'x'"],
                       env=env, capture_output=True, text=True)
  assert bad.returncode and re.search(r"vocabulary has \d+ pieces but the model only 64 "
                                      r"embedding rows", bad.stderr), bad.stderr[-500:]
