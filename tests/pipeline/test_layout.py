"""The run layout has one source: RunLayout; the README's table and the report use it."""
import pathlib
import re

from recsaver_t5x.pipeline import layout, stages

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
REPORT = pathlib.Path(layout.__file__).resolve().parents[1] / "report" / "build.py"


def test_readme_table_is_the_layout():
  assert layout.markdown_table() in README.read_text(encoding="utf-8")


def test_every_stage_writer_in_the_layout_is_a_stage():
  names = {s.name for s in stages.STAGES} | {"runner"}
  for _, writers, _ in layout.PATHS.values():
    assert {w.strip() for w in writers.split(",")} <= names, writers


def test_report_has_no_literal_run_dir_paths():
  source = REPORT.read_text(encoding="utf-8")
  assert not re.search(r'os\.path\.join\(rd, "', source)


def test_paths_and_globs():
  L = layout.RunLayout("/r")
  assert L.path("prepared", "beauty") == "/r/prepared/beauty"
  assert L.path("eval") == "/r/eval/*"
  assert L.path("exp3rt_eval", "mag", "s", "teacher") == "/r/exp3rt/mag/eval_s_teacher"
