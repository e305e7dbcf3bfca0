"""`recsaver run` end to end on a cut-down config: the real data, the embedded llama.cpp teacher,
tiny students trained from scratch; then a kill during training and a resume to the same numbers,
a changed [train] (retrains and re-evaluates, nothing stale) and `--from`."""
import glob
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

STAGES = ["prepare", "baseline", "zeroshot", "sample", "references", "tasks", "train", "evaluate", "rerank", "report"]


def _config(tmp_path, amazon_dir, run_dir):
  path = tmp_path / f"{os.path.basename(run_dir)}.toml"
  path.write_text(f"""
run_dir = "{run_dir}"
data_root = "{amazon_dir}"
[prepare]
train_per_label = 4
test_per_label = 2
mode = "cap"
[[domains]]
name = "digital_music"
reviews = ["digital_music/reviews_Digital_Music_5.head6908.json.gz"]
meta = ["digital_music/meta_Digital_Music.head7419.json.gz"]
[teacher]
servers = 1
[zeroshot]
variants = ["reasoning", "no_reasoning"]
limit = 3
max_tokens = 64
max_prompt_chars = 1500
max_field_chars = 100
[sample]
samples = 1
temperature = 0.7
limit = 6
max_tokens = 64
max_prompt_chars = 1500
max_field_chars = 100
[references]
explanations = 2
temperature = 0.7
limit = 3
max_tokens = 64
max_prompt_chars = 1500
max_field_chars = 100
verify_json_schema = true
[tasks]
vocab_size = 600
ms = [1]
filters = ["all"]
max_prompt_chars = 1500
[train]
gin_file = "tiny_cpu.gin"
TRAIN_STEPS = 24
BATCH_SIZE = 4
CHECKPOINT_PERIOD = 4
LOG_EVERY = 4
TASK_FEATURE_LENGTHS = {{inputs = 384, targets = 48}}
[evaluate]
max_decode_length = 48
input_length = 384
batch_size = 8
[rerank]
domains = ["digital_music"]
retriever = "bpr"
candidates = 5
max_users = 4
iterations = 20
max_decode_length = 8
input_length = 384
students = ["rating_only"]
[[students]]
name = "rating_only"
task = "recsaver_mix_rating"
eval_task = "recsaver_mix_rating_eval"
[[students]]
name = "reason_all_m1"
task = "recsaver_mix_reason_all_m1"
eval_task = "recsaver_mix_reason_eval"
""")
  return str(path)


def _run(config, *extra):
  return subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "run", config, *extra],
                        capture_output=True, text=True, timeout=1500)


def _metrics(run_dir):
  out = {}
  for student in ("rating_only", "reason_all_m1"):
    with open(os.path.join(run_dir, "eval", student, "metrics.json")) as f:
      out[student] = json.load(f)["metrics"]
  return out


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, amazon_dir):
  tmp = tmp_path_factory.mktemp("e2e")
  run_dir = str(tmp / "run_a")
  config = _config(tmp, amazon_dir, run_dir)
  proc = _run(config)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  return tmp, config, run_dir, proc


def test_every_stage_wrote_its_outputs(finished_run):
  _, _, run_dir, _ = finished_run
  for stage in STAGES:
    assert os.path.exists(os.path.join(run_dir, "stages", f"{stage}.json")), stage
  assert os.path.getsize(os.path.join(run_dir, "teacher", "samples.jsonl")) > 0
  assert os.path.exists(os.path.join(run_dir, "zeroshot", "digital_music", "zeroshot.md"))
  assert os.path.exists(os.path.join(run_dir, "references", "digital_music.jsonl.summary.json"))
  assert os.path.exists(os.path.join(run_dir, "tasks", "spm.model"))
  for student in ("rating_only", "reason_all_m1"):
    assert os.path.exists(os.path.join(run_dir, "train", student, "train_metrics.jsonl"))


def test_metrics_are_in_range(finished_run):
  _, _, run_dir, _ = finished_run
  for student, per_task in _metrics(run_dir).items():
    m = per_task.get("all") or next(iter(per_task.values()))
    assert m["n"] > 0
    defined = lambda v: v is not None and not math.isnan(v)  # NaN: every answer unparsed
    for key in ("binary_acc", "multi_acc", "binary_auc", "multi_auc"):
      if defined(m.get(key)):
        assert 0.0 <= m[key] <= 1.0, (student, key)
    if defined(m["mae"]):
      assert 0.0 <= m["mae"] <= m["rmse"] + 1e-9 <= 4.0 + 1e-9
    else:
      assert m["n_unparsed"] == m["n"]
    assert 0 <= m["n_unparsed"] <= m["n"]


def test_report_and_its_pngs(finished_run):
  _, _, run_dir, _ = finished_run
  report = os.path.join(run_dir, "report")
  md = open(os.path.join(report, "report.md")).read()
  for heading in ("Table 3", "Tables 4 and 5", "Table 11", "Rec-SAVER references", "Plots"):
    assert heading in md
  pngs = [f for f in os.listdir(report) if f.endswith(".png")]
  assert any("confusion" in f for f in pngs) and any("calibration" in f for f in pngs)
  assert "training_loss.png" in pngs
  for f in pngs:
    with Image.open(os.path.join(report, f)) as im:
      im.verify()
  assert "data:image/png;base64," in open(os.path.join(report, "report.html")).read()


def test_second_invocation_does_no_work(finished_run):
  _, config, _, _ = finished_run
  proc = _run(config)
  assert proc.returncode == 0, proc.stderr[-2000:]
  for stage in STAGES:
    assert f"[{stage}] up to date, skipped" in proc.stdout
  assert "$ recsaver" not in proc.stdout


def test_kill_during_training_then_resume_gives_the_same_numbers(finished_run):
  tmp, config_a, run_a, _ = finished_run
  run_b = str(tmp / "run_b")
  shutil.copytree(run_a, run_b, ignore=shutil.ignore_patterns("train", "eval", "rerank", "report"))
  for stage in ("train", "evaluate", "rerank", "report"):
    os.remove(os.path.join(run_b, "stages", f"{stage}.json"))
  config_b = open(config_a).read().replace(run_a, run_b)
  path_b = str(tmp / "run_b.toml")
  open(path_b, "w").write(config_b)
  # The copied stage records name run_a's paths in their fingerprints only through the config
  # sections, which are identical, so prepare..tasks stay up to date in run_b.
  proc = subprocess.Popen([sys.executable, "-m", "recsaver_t5x.cli", "run", path_b],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
  ckpt_root = os.path.join(run_b, "train", "rating_only")
  deadline = time.time() + 900
  while time.time() < deadline:
    steps = [d for d in (os.listdir(ckpt_root) if os.path.isdir(ckpt_root) else []) if d.isdigit() or d.startswith("checkpoint")]
    if steps:
      break
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    time.sleep(0.2)
  os.killpg(proc.pid, signal.SIGKILL)
  proc.wait()
  assert not os.path.exists(os.path.join(run_b, "stages", "train.json"))
  done = _run(path_b)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  assert "[tasks] up to date, skipped" in done.stdout
  assert "[train] resuming an interrupted run with the same fingerprint" in done.stdout
  assert _metrics(run_b) == _metrics(run_a)


def _predictions(run_dir, student):
  return [json.loads(l) for f in glob.glob(os.path.join(run_dir, "eval", student, "predictions_*.jsonl"))
          for l in open(f) if l.strip()]


def test_changed_train_section_retrains_and_reevaluates_then_from_reruns(finished_run):
  tmp, config_a, run_a, _ = finished_run
  old = _predictions(run_a, "rating_only")
  assert {p["checkpoint_step"] for p in old} == {24} and len({p["model_fingerprint"] for p in old}) == 1
  path = str(tmp / "run_a_changed.toml")
  open(path, "w").write(open(config_a).read().replace("TRAIN_STEPS = 24", "TRAIN_STEPS = 8"))
  proc = _run(path)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  for stage in ("prepare", "zeroshot", "sample", "references", "tasks"):
    assert f"[{stage}] up to date, skipped" in proc.stdout
  for stage in ("train", "evaluate", "rerank", "report"):
    assert f"[{stage}] running" in proc.stdout
  assert "moved aside: train/rating_only" in proc.stdout and "moved aside: eval/rating_only" in proc.stdout
  new = _predictions(run_a, "rating_only")
  assert len(new) == len(old) and {p["checkpoint_step"] for p in new} == {8}  # no stale prediction kept
  assert json.load(open(os.path.join(run_a, "eval", "rating_only", "metrics.json")))["step"] == 8
  stale = glob.glob(os.path.join(run_a, "stale", "train-*", "train", "rating_only", "checkpoint_24"))
  assert stale, os.listdir(os.path.join(run_a, "stale"))
  # evaluate never appends one model's predictions to another's file: one line, exit 2.
  pred = sorted(glob.glob(os.path.join(run_a, "eval", "rating_only", "predictions_*.jsonl")))[0]
  old_file = glob.glob(os.path.join(run_a, "stale", "evaluate-*", "eval", "rating_only", os.path.basename(pred)))[0]
  mixed = str(tmp / "mixed")
  os.makedirs(mixed)
  lines = open(old_file).read().splitlines()
  open(os.path.join(mixed, os.path.basename(pred)), "w").write(lines[0] + "\n")
  ev = subprocess.run([sys.executable, "-m", "recsaver_t5x.cli", "evaluate", "--model_dir",
                       os.path.join(run_a, "train", "rating_only"), "--task", "recsaver_mix_rating_eval",
                       "--tasks_config", os.path.join(run_a, "tasks", "tasks.json"), "--output_dir", mixed,
                       "--input_length", "384", "--max_decode_length", "8"], capture_output=True, text=True, timeout=600)
  assert ev.returncode == 2 and "predictions of different models would mix" in ev.stderr, ev.stderr[-2000:]
  assert [l for l in ev.stderr.splitlines() if l.startswith("recsaver")] == [ev.stderr.strip().splitlines()[-1]]
  assert "Traceback" not in ev.stderr
  # --from reruns that stage and every later one, and nothing before it.
  again = _run(path, "--from", "rerank")
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  assert "[evaluate] up to date, skipped" in again.stdout
  assert "[rerank] running" in again.stdout and "[report] running" in again.stdout
  assert glob.glob(os.path.join(run_a, "stale", "rerank-*", "rerank", "digital_music", "rerank.md"))
