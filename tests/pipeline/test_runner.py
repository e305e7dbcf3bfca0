"""`recsaver run`: skips finished stages, moves stale outputs aside, reruns what changed or is forced."""
import os

import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.pipeline import config, runner, stages
from recsaver_t5x.pipeline.layout import RunLayout

FIRST_TWO = stages.STAGES[:2]  # prepare, baseline: no teacher, no training (tests/pipeline/test_end_to_end.py runs all)
quiet = lambda *_: None  # pylint: disable=unnecessary-lambda-assignment


def _cfg(tmp_path, amazon_dir, test_per_label=3):
  path = tmp_path / "run.toml"
  path.write_text(f"""
run_dir = "run"
data_root = "{amazon_dir}"
[prepare]
train_per_label = 6
test_per_label = {test_per_label}
mode = "cap"
[[domains]]
name = "digital_music"
reviews = ["digital_music/reviews_Digital_Music_5.head6908.json.gz"]
meta = ["digital_music/meta_Digital_Music.head7419.json.gz"]
""")
  return config.load_run_config(str(path), stages.SECTIONS)


def _baseline_n(run_dir):
  with open(os.path.join(RunLayout(run_dir).path("baseline"), "baseline.md"), encoding="utf-8") as f:
    return f.read()


def test_second_run_does_no_work_changes_and_forced_stages_rerun_on_fresh_outputs(tmp_path, amazon_dir):
  cfg = _cfg(tmp_path, amazon_dir)
  assert cfg.run_dir == str(tmp_path / "run")  # relative to the run file's directory
  assert runner.run_stages(cfg, FIRST_TWO, log=quiet) == {"prepare": "ran", "baseline": "ran"}
  assert runner.run_stages(cfg, FIRST_TWO, log=quiet) == {"prepare": "skipped", "baseline": "skipped"}
  assert runner.run_stages(cfg, FIRST_TWO, only="baseline", log=quiet) == {"baseline": "ran"}
  assert runner.run_stages(cfg, FIRST_TWO, from_stage="prepare", log=quiet) == {"prepare": "ran", "baseline": "ran"}
  stale = sorted(os.listdir(tmp_path / "run" / "stale"))
  assert [s.split("-")[0] for s in stale] == ["baseline", "baseline", "prepare"]  # --only, then --from
  before = _baseline_n(cfg.run_dir)
  changed = _cfg(tmp_path, amazon_dir, test_per_label=2)
  assert runner.run_stages(changed, FIRST_TWO, log=quiet) == {"prepare": "ran", "baseline": "ran"}
  assert _baseline_n(cfg.run_dir) != before  # 10 test examples now, not the 15 of before


def test_interrupted_stage_with_the_same_fingerprint_resumes_in_place(tmp_path, amazon_dir):
  cfg = _cfg(tmp_path, amazon_dir)
  runner.run_stages(cfg, FIRST_TWO, log=quiet)
  L = RunLayout(cfg.run_dir)
  os.replace(L.path("record", "baseline"), L.path("record", "baseline.started"))  # as if killed
  lines = []
  assert runner.run_stages(cfg, FIRST_TWO, log=lines.append)["baseline"] == "ran"
  assert any("resuming" in l for l in lines) and not any("moved aside" in l for l in lines)


def test_toolkit_version_is_in_the_fingerprint(tmp_path, amazon_dir, monkeypatch):
  cfg = _cfg(tmp_path, amazon_dir)
  before = runner.fingerprint(cfg, stages.STAGES[0], {})
  assert "+" in runner.toolkit_version()  # package version + git commit in a checkout
  monkeypatch.setattr(runner, "toolkit_version", lambda: "9.9.9")
  assert runner.fingerprint(cfg, stages.STAGES[0], {}) != before


@pytest.mark.parametrize("edit, message", [
    ("[prepare]\ntrain_per_lable = 3", r"run.toml: \[prepare\]: unknown key 'train_per_lable'.*did you mean 'train_per_label'"),
    ("[prepare]\ntrain_per_label = 'three'", r"\[prepare\]: 'train_per_label' not an integer"),
    ("[tasks]\nms = 'two'", r"\[tasks\]: 'ms' not an integer: 'two'"),
    ("[tasks]\nvocab_sise = 10", r"\[tasks\]: unknown key 'vocab_sise'.*did you mean 'vocab_size'"),
    ("[teacher]\nserver = 2", r"\[teacher\]: unknown key 'server'.*did you mean 'servers'"),
    ("[train]\nTRAIN_STEP = 2", r"\[train\]: 'TRAIN_STEP' is no gin macro.*did you mean 'TRAIN_STEPS'"),
    ("[evaluate]\nbatch_size = [1]", r"\[evaluate\]: 'batch_size' must be a single value"),
    ("[references]\nverify_json_schema = 'yes'", r"'verify_json_schema' must be true or false"),
    ("[report]\ntitle = 'x'", r"\[report\]: unknown key 'title'"),
    ("[rerank]\nstudents = 'a'", r"\[rerank\]: 'students' must be a list of strings"),
    ("[exp3rt]\nuser_caps = 3", r"\[exp3rt\]: unknown key 'user_caps'.*did you mean 'user_cap'"),
    ("[zeroshots]\nlimit = 3", r"unknown top-level key or section 'zeroshots'.*did you mean 'zeroshot'"),
    ("[[students]]\nname = 'a'\ntask = 'b'\neval_tsk = 'c'", r"\[\[students\]\] entry 1: unknown key 'eval_tsk'.*'eval_task'"),
    ("[[domains]]\nname = 'b'\nreviews = 'x.json'", r"\[\[domains\]\] entry 2: 'reviews' must be a list of strings"),
    ("run_dri = 'x'", r"unknown top-level key or section 'run_dri'.*did you mean 'run_dir'"),
])
def test_any_typo_is_one_line_naming_file_section_and_key(tmp_path, edit, message):
  path = tmp_path / "run.toml"
  domain = "[[domains]]\nname = 'a'\nreviews = ['a.json']\n"
  # TOML: top-level keys before the first table.
  path.write_text("run_dir = 'r'\n" + domain + edit + "\n" if edit.startswith("[") else edit + "\n" + domain)
  with pytest.raises(UserFacingError, match=message) as e:
    config.load_run_config(str(path), stages.SECTIONS)
  assert "\n" not in str(e.value)


def test_missing_key_is_one_clear_error(tmp_path):
  bad = tmp_path / "bad.toml"
  bad.write_text("run_dir = 'x'\n[[domains]]\nname = 'a'\n")
  with pytest.raises(UserFacingError, match="entry 1 lacks 'reviews'"):
    config.load_run_config(str(bad), stages.SECTIONS)


def test_demo_run_files_are_valid():
  for name in ("demo.toml", "exp3rt_demo.toml"):
    cfg = config.load_run_config(str(config.DEFAULT_CONFIG.parent / name), stages.SECTIONS)
    assert os.path.isdir(os.path.dirname(cfg.domains[0].reviews[0])), cfg.domains[0].reviews
