"""Models trained by real T5X: `recsaver evaluate` on a T5X model dir (legacy and orbax, with its
config.gin or --model-config), and a T5X checkpoint_<step> as INITIAL_CHECKPOINT_PATH.

The T5X-written fixture is `../shared/fixtures/t5x_tiny/` (see its README). References are
independent: transformers' PyTorch T5 greedy decodes, and the fixture's own parameters.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from recsaver_t5x.errors import InputError
from recsaver_t5x.model import t5x_config
from tests.conftest import SHARED
from tests.tasks import fakedata
from tests.trainer import helpers

FIXTURE = SHARED / "fixtures" / "t5x_tiny"
# The fixture network as t5x.train's operative config.gin writes it (see the fixture README).
FIXTURE_GIN = """from __gin__ import dynamic_registration
import __main__ as train_script
import seqio
from t5x import models
from t5x.examples.t5 import network

# Macros:
# ==============================================================================
DROPOUT_RATE = 0.0
MODEL = @models.EncoderDecoderModel()
NUM_EMBEDDINGS = 128

# Parameters for network.T5Config:
# ==============================================================================
network.T5Config.dropout_rate = %DROPOUT_RATE
network.T5Config.dtype = 'float32'
network.T5Config.emb_dim = 16
network.T5Config.head_dim = 8
network.T5Config.logits_via_embedding = False
network.T5Config.mlp_activations = ('gelu', 'linear')
network.T5Config.mlp_dim = 32
network.T5Config.num_decoder_layers = 2
network.T5Config.num_encoder_layers = 2
network.T5Config.num_heads = 4
network.T5Config.vocab_size = %NUM_EMBEDDINGS

# Parameters for network.Transformer:
# ==============================================================================
network.Transformer.config = @network.T5Config()
"""
FIXTURE_CONFIG = dict(vocab_size=128, emb_dim=16, num_heads=4, head_dim=8, mlp_dim=32,
                      num_encoder_layers=2, num_decoder_layers=2,
                      mlp_activations=("gelu", "linear"), logits_via_embedding=False,
                      dtype="float32", dropout_rate=0.0)


def _write(path, text):
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  return str(path)


# ------------------------------------------------------------------ gin parsing (fast) -------
def test_operative_config_gin(tmp_path):
  config = t5x_config.config_from_t5x_gin(_write(tmp_path / "config.gin", FIXTURE_GIN))
  for k, v in FIXTURE_CONFIG.items():
    assert getattr(config, k) == v, k


def test_gin_includes_blocks_and_t5x_defaults(tmp_path):
  """T5X's own style: `include`, binding blocks, %gin.REQUIRED dropout, last binding wins."""
  (tmp_path / "t5x" / "examples").mkdir(parents=True)
  _write(tmp_path / "t5x" / "examples" / "base.gin", """from __gin__ import dynamic_registration
from t5x.examples.t5 import network
DROPOUT_RATE = %gin.REQUIRED
network.T5Config:
  vocab_size = 32128  # rounded up
  dtype = 'bfloat16'
  emb_dim = 768
  num_heads = 12
  dropout_rate = %DROPOUT_RATE
""")
  small = _write(tmp_path / "small.gin", """include 't5x/examples/base.gin'
network.T5Config:
  emb_dim = 512
  num_encoder_layers = 8
""")
  with pytest.raises(InputError, match="alone.gin:1: included gin file 'nope/base.gin'"):
    t5x_config.config_from_t5x_gin(_write(tmp_path / "alone.gin", "include 'nope/base.gin'\n"))
  config = t5x_config.config_from_t5x_gin(small, search_paths=[str(tmp_path)])
  assert (config.emb_dim, config.num_heads, config.num_encoder_layers) == (512, 12, 8)
  assert config.dtype == "bfloat16" and config.dropout_rate == 0.0
  # unbound: T5X's defaults (relu MLP, 6 decoder layers), not ours (gated GELU)
  assert config.mlp_activations == ("relu",) and config.num_decoder_layers == 6


@pytest.mark.parametrize("text, message", [
    ("network.T5Config.vocab_size = 8\nnetwork.T5Config.emb_dims = 4\n",
     r"x.gin:2: unknown T5Config field 'emb_dims'"),
    ("network.T5Config.vocab_size = %V\n", r"x.gin:1: macro %V is not defined"),
    ("network.T5Config.emb_dim = %gin.REQUIRED\nnetwork.T5Config.vocab_size = 8\n",
     r"x.gin:1: T5Config.emb_dim is %gin.REQUIRED"),
    ("network.T5Config.emb_dim = 8\n", "vocab_size"),
    ("MODEL = 3\n", "no network.T5Config bindings"),
    ("network.T5Config.emb_dim = = 8\n", r"x.gin:1: gin syntax error"),
])
def test_gin_errors_name_file_and_line(tmp_path, text, message):
  with pytest.raises(InputError, match=message):
    t5x_config.config_from_t5x_gin(_write(tmp_path / "x.gin", text))


def test_find_model_config_order(tmp_path):
  with pytest.raises(InputError, match="--model-config"):
    t5x_config.find_model_config(str(tmp_path))
  (tmp_path / "checkpoint_40").mkdir()
  _write(tmp_path / "config.gin", FIXTURE_GIN)
  assert t5x_config.find_model_config(str(tmp_path / "checkpoint_40")).emb_dim == 16
  explicit = t5x_config.find_model_config(str(tmp_path), str(FIXTURE / "config.json"))
  assert explicit == t5x_config.find_model_config(str(tmp_path))


# ------------------------------------------------------------- the T5X fixture (slow) -------
def _fixture_domain(directory: str, n_test: int = 4, own_vocab: bool = False) -> str:
  """A tiny domain whose tasks use the fixture's SentencePiece model (100 pieces), or, with
  `own_vocab`, one of 128 pieces trained on the domain (the fixture's cannot spell the
  `### Rating ###` marker the rating read-out needs; the T5X weights have 128 rows)."""
  train = fakedata.make_examples(8, "beauty", seed=1, prefix="tr")
  test = fakedata.make_examples(n_test, "beauty", seed=2, prefix="te")
  fakedata.write_prepared(os.path.join(directory, "prepared"), train, test)
  answers = {(ex.example_id, 0): fakedata.answer(f"likes {ex.example_id} things", ex.true_rating)
             for ex in train + test}
  store = fakedata.write_store(os.path.join(directory, "samples.jsonl"), answers)
  vocab = str(FIXTURE / "spm.model")
  if own_vocab:
    from recsaver_t5x.prompting import variants
    texts = [variants.build_prompt(ex, "reasoning").text for ex in train + test]
    vocab = fakedata.train_spm(directory, texts + list(answers.values()), vocab_size=128)
  cfg = {"vocabulary": vocab, "ms": [1], "filters": ["all"],
         "domains": [{"name": "t5xfix", "prepared_dir": os.path.join(directory, "prepared"),
                      "samples_store": store}]}
  return _write(os.path.join(directory, "tasks.json"), json.dumps(cfg))


def _hf_greedy(params, config, inputs: np.ndarray, length: int) -> list[list[int]]:
  import torch
  from recsaver_t5x.model import checkpoints
  model = checkpoints.to_hf_model(params, config)
  ids = torch.from_numpy(inputs.astype(np.int64))
  with torch.no_grad():
    out = model.generate(input_ids=ids, attention_mask=(ids > 0).long(), max_new_tokens=length,
                         do_sample=False, num_beams=1, decoder_start_token_id=0,
                         eos_token_id=1, pad_token_id=0).numpy()
  rows = []
  for r in out[:, 1:].tolist():  # drop the start token
    rows.append(r[:r.index(1)] if 1 in r else r)
  return rows


@pytest.mark.slow
def test_evaluate_t5x_model_dirs_legacy_and_orbax(tmp_path):
  """Both T5X formats through `recsaver evaluate`: same predictions, equal to HF greedy."""
  import seqio
  from recsaver_t5x.model import checkpoints
  from recsaver_t5x.trainer import evaluate_lib
  from recsaver_t5x.tasks import from_config
  from_config.register(_fixture_domain(str(tmp_path), own_vocab=True))
  # a t5x.train MODEL_DIR: config.gin + checkpoint_40 (orbax)
  orbax_dir = tmp_path / "t5x_run"
  shutil.copytree(FIXTURE / "orbax", orbax_dir)
  _write(orbax_dir / "config.gin", FIXTURE_GIN)
  kw = dict(input_length=128, max_decode_length=12, batch_size=4, progress=False,
            unparsed="distribution")
  task = "recsaver_t5xfix_reason_eval"
  res_orbax = evaluate_lib.evaluate(str(orbax_dir), task, output_dir=str(tmp_path / "e1"), **kw)
  # the legacy checkpoint_40 itself (read-only fixture) with an explicit --model-config
  res_legacy = evaluate_lib.evaluate(str(FIXTURE / "legacy" / "checkpoint_40"), task,
                                     output_dir=str(tmp_path / "e2"),
                                     model_config=str(FIXTURE / "config.json"), **kw)
  read = lambda d: [json.loads(l) for l in open(tmp_path / d / f"predictions_{task}.jsonl")]
  # the same weights in two checkpoint formats: equal predictions (the model fingerprint names the files)
  p_orbax, p_legacy = ([{k: v for k, v in p.items() if k != "model_fingerprint"} for p in read(d)]
                       for d in ("e1", "e2"))
  assert len(p_orbax) == 4 and p_orbax == p_legacy
  assert json.dumps(res_orbax[task], sort_keys=True) == json.dumps(res_legacy[task], sort_keys=True)
  m = res_orbax[task]
  assert m["n"] == 4 and m["unparsed_policy"] == "distribution"
  assert np.isfinite(m["multi_acc"]) and m["n_marker_appended"] == m["n_unparsed"]
  saved = json.load(open(tmp_path / "e1" / "metrics.json"))
  assert saved["step"] == 40
  # independent reference: transformers' T5 greedy decodes of the same inputs and weights
  config, params, step = evaluate_lib.load_model(str(orbax_dir))
  assert step == 40 and checkpoints.tree_max_abs_diff(
      params, checkpoints.load_t5x_checkpoint(str(FIXTURE / "legacy"))) == 0.0
  t = seqio.get_mixture_or_task(task)
  exs = list(t.get_dataset({"inputs": 128, "targets": 64}, split="test", shuffle=False,
                           num_epochs=1).as_numpy_iterator())
  inputs = np.zeros((len(exs), 128), np.int32)
  for i, ex in enumerate(exs):
    inputs[i, :len(ex["inputs"])] = ex["inputs"]
  vocab = t.output_features["targets"].vocabulary
  want = {ex["example_id"].decode(): vocab.decode(r)
          for ex, r in zip(exs, _hf_greedy(params, config, inputs, 12))}
  assert {p["example_id"]: p["text"] for p in p_orbax} == want


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["legacy", "orbax"])
def test_train_from_t5x_initial_checkpoint(tmp_path, fmt):
  """`recsaver train --gin.INITIAL_CHECKPOINT_PATH=<t5x>/checkpoint_40`: with a zero learning
  rate the saved parameters are exactly T5X's; shape mismatches are one-line errors."""
  from recsaver_t5x.model import checkpoints
  tasks = _fixture_domain(str(tmp_path))
  init = FIXTURE / fmt / "checkpoint_40"
  dims = [f"--gin.model_config.get_config.{k}={v}" for k, v in
          dict(emb_dim=16, num_heads=4, head_dim=8, mlp_dim=32).items()]
  cmd = [sys.executable, "-m", "recsaver_t5x.cli", "train", "--gin_file=tiny_cpu.gin",
         f"--gin.MODEL_DIR='{tmp_path / 'm'}'", f"--gin.TASKS_CONFIG='{tasks}'",
         "--gin.MIXTURE_OR_TASK_NAME='recsaver_t5xfix_reason_all_m1'",
         "--gin.TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}", "--gin.BATCH_SIZE=4",
         "--gin.TRAIN_STEPS=2", "--gin.LEARNING_RATE=0.0", "--gin.ASYNC_CHECKPOINTING=False",
         f"--gin.INITIAL_CHECKPOINT_PATH='{init}'"]
  out = subprocess.run(cmd + dims, env=helpers.subprocess_env(), capture_output=True, text=True,
                       cwd=helpers.REPO)
  assert out.returncode == 0, out.stderr[-2000:]
  trained = checkpoints.restore_checkpoint(str(tmp_path / "m"), 2)
  assert checkpoints.tree_max_abs_diff(trained, checkpoints.load_t5x_checkpoint(str(init))) == 0.0
  if fmt == "legacy":  # the wrong model size: one line, no traceback
    bad = subprocess.run([c.replace("'m'", "'m2'") for c in cmd] + dims[:-1]
                         + [f"--gin.MODEL_DIR='{tmp_path / 'm2'}'"],
                         env=helpers.subprocess_env(), capture_output=True, text=True,
                         cwd=helpers.REPO)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "mlp" in bad.stderr and "wrong model size" in bad.stderr
