"""`recsaver run` skips finished stages and reruns what changed."""
import json

from recsaver_t5x.pipeline import config, runner, stages

FIRST_TWO = stages.STAGES[:2]  # prepare, baseline: no teacher, no training (tests/pipeline/test_end_to_end.py runs all)


def _cfg(tmp_path, amazon_dir, test_per_label=3):
  path = tmp_path / "run.toml"
  path.write_text(f"""
run_dir = "{tmp_path / 'run'}"
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
  return config.load_run_config(str(path))


def test_second_run_does_no_work_and_changes_rerun(tmp_path, amazon_dir):
  cfg = _cfg(tmp_path, amazon_dir)
  quiet = lambda *_: None
  assert runner.run_stages(cfg, FIRST_TWO, log=quiet) == {"prepare": "ran", "baseline": "ran"}
  assert runner.run_stages(cfg, FIRST_TWO, log=quiet) == {"prepare": "skipped", "baseline": "skipped"}
  assert runner.run_stages(cfg, FIRST_TWO, only="baseline", log=quiet) == {"baseline": "ran"}
  changed = _cfg(tmp_path, amazon_dir, test_per_label=2)
  assert runner.run_stages(changed, FIRST_TWO, log=quiet) == {"prepare": "ran", "baseline": "ran"}
  record = json.loads((tmp_path / "run" / "stages" / "baseline.json").read_text())
  assert record["summary"]["digital_music: naive user average"]["n"] == 10


def test_bad_run_file_is_one_clear_error(tmp_path):
  import pytest
  from recsaver_t5x.errors import UserFacingError
  bad = tmp_path / "bad.toml"
  bad.write_text("run_dir = 'x'\n[[domains]]\nname = 'a'\n")
  with pytest.raises(UserFacingError, match="entry 1 lacks 'reviews'"):
    config.load_run_config(str(bad))
