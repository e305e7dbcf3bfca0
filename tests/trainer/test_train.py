"""The trainer end to end on a tiny real task: overfit + predict, exact resume after kill -9,
8-device sharded == single device, NaN stop, gin flags."""
import json
import os
import signal
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from recsaver_t5x.trainer import gin_utils, summaries
from tests.trainer import helpers

TRAIN = [sys.executable, "-m", "recsaver_t5x.cli", "train", "--gin_file=tiny_cpu.gin"]


def _train_cmd(model_dir, tasks, *extra):
  return TRAIN + [f"--gin.MODEL_DIR={model_dir}", f"--gin.TASKS_CONFIG={tasks}",
                  "--gin.MIXTURE_OR_TASK_NAME='recsaver_beauty_reason_all_m1'",
                  "--gin.TASK_FEATURE_LENGTHS={'inputs': 256, 'targets': 24}",
                  "--gin.BATCH_SIZE=8", *extra]


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
  return helpers.make_domain(str(tmp_path_factory.mktemp("domain")))


def test_gin_flags():
  assert gin_utils.to_binding("--gin.MODEL_DIR=/tmp/m") == "MODEL_DIR = '/tmp/m'"
  assert gin_utils.to_binding("--gin.TRAIN_STEPS=100") == "TRAIN_STEPS = 100"
  assert gin_utils.to_binding("--gin.X='a'") == "X = 'a'"
  assert gin_utils.to_binding("--gin.L={'inputs': 8}") == "L = {'inputs': 8}"
  assert gin_utils.to_binding("--gin.P=None") == "P = None"
  out = subprocess.run(TRAIN + ["--gin.MODEL_DIR=/tmp/x", "--gin.MIXTURE_OR_TASK_NAME=t",
                                "--gin.TRAIN_STEPS=7", "--print_config"],
                       env=helpers.subprocess_env(), capture_output=True, text=True, check=True,
                       cwd=helpers.REPO)
  assert "TRAIN_STEPS = 7" in out.stdout and "MODEL_SIZE = 'tiny'" in out.stdout


@pytest.mark.slow
def test_overfit_then_predict_ratings(tmp_path):
  """A tiny model memorises 5 examples and then writes their reasoning and TRUE ratings."""
  from recsaver_t5x.model.config import get_config
  from recsaver_t5x.trainer import evaluate_lib, optimizers, train_lib
  from tests.tasks import fakedata
  d = str(tmp_path)
  tasks_cfg = helpers.make_domain(d, n_train=5, n_test=0)
  # Evaluate on the memorised examples themselves: the test split is the train split.
  train = fakedata.make_examples(5, "beauty", seed=1, prefix="tr")
  fakedata.write_prepared(os.path.join(d, "prepared"), train, train)
  result = train_lib.train(
      model_dir=os.path.join(d, "m"), mixture_or_task_name="recsaver_beauty_reason_all_m1",
      task_feature_lengths={"inputs": 384, "targets": 24}, train_steps=150, batch_size=5,
      model_config=get_config("tiny", emb_dim=32, head_dim=8, mlp_dim=64, dropout_rate=0.0,
                              dtype="float32"),
      vocab_size=None, learning_rate_fn=optimizers.learning_rate_schedule(1e-2),
      tasks_config=tasks_cfg, checkpoint_period=1000, log_every=50, report_mfu=False,
      progress=False, async_checkpointing=False)
  assert result["step"] == 150 and result["accuracy"] > 0.99
  refs = os.path.join(d, "references.jsonl")
  with open(refs, "w", encoding="utf-8") as f:
    for ex in train:
      f.write(json.dumps({"example_id": ex.example_id,
                          "references": [f"likes {ex.example_id} things"]}) + "\n")
  from recsaver_t5x.eval.reasoning_metrics import ScorerConfig
  out = evaluate_lib.evaluate(os.path.join(d, "m"), "recsaver_beauty_reason_eval",
                              input_length=384, max_decode_length=24, batch_size=5,
                              progress=False, references=refs,
                              scorer_config=ScorerConfig(metrics=("bleu", "rouge1_f1")))
  res = out["recsaver_beauty_reason_eval"]
  # the memorised reasoning equals its reference: perfect text scores, all predictions correct
  assert out["reasoning"]["correct"]["n"] == 5 and out["reasoning"]["all"]["rouge1_f1"] == 1.0
  assert out["reasoning"]["all"]["bleu"] == pytest.approx(1.0)
  assert res["multi_acc"] == 1.0 and res["n_unparsed"] == 0 and res["n_marker_appended"] == 0
  assert res["multi_auc"] == 1.0 and res["binary_auc"] == 1.0
  preds = [json.loads(l) for l in open(os.path.join(
      d, "m", "eval_150", "predictions_recsaver_beauty_reason_eval.jsonl"))]
  for p in preds:
    assert p["text"].startswith(f"### Reason ### likes {p['example_id']} things")
    assert p["predicted_rating"] == p["true_rating"] and np.argmax(p["probs"]) + 1 == p["true_rating"]
  assert os.path.isfile(os.path.join(d, "m", "eval_150", "metrics.md"))
  assert os.path.isfile(os.path.join(d, "m", "eval_150", "reasoning.md"))
  # --decode beam:2 (T5X's beam search): the memorised answers again, the choice recorded.
  beam = evaluate_lib.evaluate(os.path.join(d, "m"), "recsaver_beauty_reason_eval",
                               input_length=384, max_decode_length=24, batch_size=5,
                               progress=False, decode="beam:2")
  assert beam["recsaver_beauty_reason_eval"]["multi_acc"] == 1.0
  saved = json.load(open(os.path.join(d, "m", "eval_150_beam2", "metrics.json")))
  assert saved["decode"] == "beam:2"
  assert json.load(open(os.path.join(d, "m", "eval_150", "metrics.json")))["decode"] == "greedy"


def _losses(model_dir):
  return {s: r["loss"] for s, r in summaries.read_metrics(model_dir).items()}


@pytest.mark.slow
def test_resume_after_kill_is_exact(tasks, tmp_path):
  """kill -9 mid-run, restart: same step, same batches, same losses as an uninterrupted run."""
  common = ["--gin.TRAIN_STEPS=24", "--gin.CHECKPOINT_PERIOD=8", "--gin.LOG_EVERY=1",
            "--gin.DROPOUT_RATE=0.1", "--gin.PACK=True", "--gin.KEEP_CHECKPOINTS=2"]
  env = helpers.subprocess_env()
  ref = tmp_path / "ref"
  subprocess.run(_train_cmd(ref, tasks, *common), env=env, check=True, cwd=helpers.REPO,
                 capture_output=True)
  killed = tmp_path / "killed"
  proc = subprocess.Popen(_train_cmd(killed, tasks, *common), env=env, cwd=helpers.REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 600
  while time.time() < deadline and proc.poll() is None:
    if max(_losses(str(killed)), default=0) >= 12:  # checkpoint_8 written, mid-way to 16
      os.kill(proc.pid, signal.SIGKILL)
      break
    time.sleep(0.02)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
  before = _losses(str(killed))
  assert 12 <= max(before) < 24
  assert not (killed / "checkpoint_24").exists()
  resumed = subprocess.run(_train_cmd(killed, tasks, *common), env=env, cwd=helpers.REPO,
                           capture_output=True, text=True, check=True)
  assert "resuming from" in resumed.stderr and "checkpoint_8" in resumed.stderr
  want, got = _losses(str(ref)), _losses(str(killed))
  assert sorted(want) == list(range(1, 25)) and sorted(got) == list(range(1, 25))
  assert got == want  # bitwise: same data position, same dropout keys, same optimizer state
  for s in range(9, max(before) + 1):  # the steps redone after the restart repeat the killed run
    assert before[s] == want[s]
  # keep-last-N
  assert sorted(p.name for p in killed.glob("checkpoint_*")) == ["checkpoint_16", "checkpoint_24"]
  # TensorBoard scalars (event files readable by TensorBoard: "scalars" plugin tensors)
  import tensorflow as tf
  tags = {}
  for path in (ref / "train").glob("events.out.tfevents.*"):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for v in event.summary.value:
        assert v.metadata.plugin_data.plugin_name == "scalars"
        tags.setdefault(v.tag, {})[event.step] = float(tf.make_ndarray(v.tensor))
  assert {"loss", "learning_rate", "tokens_per_s", "mfu", "accuracy"} <= set(tags)
  assert tags["loss"] == pytest.approx(want)


@pytest.mark.slow
def test_sharded_8_devices_equals_single_device(tasks, tmp_path):
  common = ["--gin.TRAIN_STEPS=4", "--gin.LOG_EVERY=1", "--gin.CHECKPOINT_PERIOD=100",
            "--gin.DROPOUT_RATE=0.0"]
  one = tmp_path / "one"
  subprocess.run(_train_cmd(one, tasks, *common), env=helpers.subprocess_env(), check=True,
                 cwd=helpers.REPO, capture_output=True)
  eight = tmp_path / "eight"
  env8 = helpers.subprocess_env(XLA_FLAGS="--xla_force_host_platform_device_count=8")
  out = subprocess.run(_train_cmd(eight, tasks, *common, "--gin.NUM_PARTITIONS=2") + [
      "--gin.train_lib.train.report_mfu=False"], env=env8, check=True, cwd=helpers.REPO,
      capture_output=True, text=True)
  assert out.returncode == 0
  a, b = _losses(str(one)), _losses(str(eight))
  assert sorted(a) == sorted(b) == [1, 2, 3, 4]
  for s in a:
    assert b[s] == pytest.approx(a[s], rel=2e-5), s
  # the parameters really were sharded over the (4, 2) mesh
  from recsaver_t5x.model import checkpoints
  p1 = checkpoints.restore_checkpoint(str(one), 4)
  p8 = checkpoints.restore_checkpoint(str(eight), 4)
  assert checkpoints.tree_max_abs_diff(p1, p8) < 1e-4


@pytest.mark.slow
def test_nan_loss_stops_with_a_clear_message(tasks, tmp_path):
  out = subprocess.run(_train_cmd(tmp_path / "nan", tasks, "--gin.LEARNING_RATE=1e30",
                                  "--gin.TRAIN_STEPS=50", "--gin.LOG_EVERY=5",
                                  "--gin.CHECKPOINT_PERIOD=1000"),
                       env=helpers.subprocess_env(), cwd=helpers.REPO, capture_output=True,
                       text=True)
  assert out.returncode == 2
  last = out.stderr.strip().splitlines()[-1]
  assert last.startswith("recsaver train: error: training stopped: the loss is ")
  assert "no checkpoint yet" in last and not list((tmp_path / "nan").glob("checkpoint_*"))


def test_comparison_table_layout(tmp_path):
  from recsaver_t5x.trainer import evaluate_lib
  paths = []
  for i, acc in enumerate((0.5, 0.75)):
    p = tmp_path / f"m{i}.json"
    p.write_text(json.dumps({"task": "t", "step": 10, "metrics": {"t": {
        "binary_acc": acc, "binary_f1": 0.6, "multi_acc": 0.3, "mae": 1.0, "rmse": 1.2,
        "binary_auc": 0.7, "multi_auc": 0.65, "n": 100, "n_unparsed": 2}}}))
    paths.append(str(p))
  table = evaluate_lib.comparison_table(paths, ["Flan-T5 small", "Flan-T5 small + reasoning"])
  lines = table.splitlines()
  assert lines[0] == ("| Method | Binary Acc | F1 | Multi Acc | MAE | RMSE | Binary AUC | "
                      "Multi AUC | n | unparsed | unparsed policy |")
  assert lines[3] == ("| Flan-T5 small + reasoning | 0.7500 | 0.6000 | 0.3000 | 1.0000 | 1.2000 | "
                      "0.7000 | 0.6500 | 100 | 2 | - |")


def test_vocabulary_larger_than_model_is_an_error(tasks, tmp_path):
  """The task's spm has > 64 pieces: 64 embedding rows is refused in one line, no traceback."""
  out = subprocess.run(_train_cmd(str(tmp_path / "m"), tasks, "--gin.VOCAB_SIZE=64",
                                  "--gin.TRAIN_STEPS=1"),
                       env=helpers.subprocess_env(), capture_output=True, text=True,
                       cwd=helpers.REPO)
  assert out.returncode != 0
  assert re.search(r"vocabulary has \d+ pieces but the model only 64 embedding rows", out.stderr)
  assert "Traceback" not in out.stderr
  assert not (tmp_path / "m" / "config.json").exists()


def test_task_metrics_unparsed_policies(tasks):
  """Every policy on a real task's metric fns; 'distribution' leaves no prediction out."""
  import seqio
  from recsaver_t5x.eval.rating_metrics import rating_metrics
  from recsaver_t5x.trainer import evaluate_lib
  from recsaver_t5x.tasks import from_config
  from tests.tasks import fakedata
  from_config.register(tasks)
  task = seqio.get_mixture_or_task("recsaver_beauty_reason_eval")
  rng = np.random.default_rng(0)
  preds = []
  for i in range(40):
    probs = rng.dirichlet(np.ones(5))
    rating = None if i % 4 == 0 else int(rng.integers(1, 6))
    text = fakedata.answer("likes it", rating)  # what the task's postprocess_fn parses
    preds.append(evaluate_lib.Prediction(f"e{i}", "beauty", int(rng.integers(1, 6)), text, rating,
                                         None if rating else "no marker", tuple(probs),
                                         rating is None))
  true = [p.true_rating for p in preds]
  excl = evaluate_lib.task_metrics(task, preds)
  assert excl["unparsed_policy"] == "exclude" and excl["n_unparsed"] == 10
  want = rating_metrics(true, [p.predicted_rating for p in preds])
  assert excl["multi_acc"] == pytest.approx(want["multi_acc"])
  dist = evaluate_lib.task_metrics(task, preds, "distribution")
  filled = [p.predicted_rating or int(np.argmax(p.probs)) + 1 for p in preds]
  want = rating_metrics(true, filled)
  assert dist["unparsed_policy"] == "distribution" and dist["n_unparsed"] == 10
  for k in ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse"):
    assert dist[k] == pytest.approx(want[k]), k
  assert dist["multi_auc"] == pytest.approx(excl["multi_auc"])  # AUCs never depend on parsing
  fb = evaluate_lib.task_metrics(task, preds, "fallback:3")
  assert fb["mae"] == pytest.approx(rating_metrics(true, [p.predicted_rating or 3 for p in preds])["mae"])
  overall = evaluate_lib.overall_metrics(preds, "distribution")
  assert overall["multi_acc"] == pytest.approx(dist["multi_acc"])
  assert overall["unparsed_policy"] == "distribution"


def test_evaluate_cli_rejects_bad_policy(tmp_path):
  out = subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "evaluate",
                        f"--model_dir={tmp_path}", "--task=t", "--unparsed=drop"],
                       env=helpers.subprocess_env(), capture_output=True, text=True, cwd=helpers.REPO)
  assert out.returncode != 0 and "--unparsed" in out.stderr and "Traceback" not in out.stderr
