"""Every plot writes a valid PNG."""
import numpy as np
from PIL import Image

from recsaver_t5x.report import plots


def _valid_png(path):
  with Image.open(path) as im:
    im.verify()
  with Image.open(path) as im:
    assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100


def test_all_plots_are_valid_pngs(tmp_path):
  rng = np.random.default_rng(0)
  y = rng.integers(1, 6, 50)
  pred = [None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(1, 6, 50))]
  probs = rng.dirichlet(np.ones(5), 50)
  _valid_png(plots.confusion_matrix(y, pred, str(tmp_path / "cm.png"), "cm"))
  _valid_png(plots.calibration(y, probs, str(tmp_path / "cal.png"), "cal"))
  _valid_png(plots.training_curves({"a": ([1, 2, 3], [3.0, 2.0, 1.5])}, str(tmp_path / "loss.png")))
  _valid_png(plots.training_curves({"a": ([1, 2], [30.0, 20.0])}, str(tmp_path / "two.png"),
                                   per_token={"a": ([1, 2], [1.5, 1.0])}))
  _valid_png(plots.distributions({"BLEU": rng.random(30), "METEOR": rng.random(30)}, str(tmp_path / "d.png"), "d"))
  _valid_png(plots.bars({"1": 0.2, "5": 0.9}, str(tmp_path / "b.png"), "pass", "rate"))


def test_report_markdown_and_self_contained_html(tmp_path):
  from recsaver_t5x.report import render
  png = plots.bars({"1": 0.5}, str(tmp_path / "b.png"), "t", "y")
  md, html_path = render.write_report("Run", [render.Section("Table 3", "| a | b |\n|---|---|\n| 1 | 2 |", (("pass", png),))],
                                      str(tmp_path))
  text = open(md).read()
  assert "## Table 3" in text and "![pass](b.png)" in text
  page = open(html_path).read()
  assert "<table>" in page and "data:image/png;base64," in page


def test_training_series_per_token_cross_entropy():
  """The plot's second panel: per-token CE from the trainer's log, next to T5X's summed loss."""
  from recsaver_t5x.report.build import training_series
  log = [{"step": 1, "loss": 40.0, "cross_ent_per_token": 2.0}, {"step": 2, "loss": 30.0},
         {"step": 3, "loss": 20.0, "cross_ent_per_token": 1.0}, {"note": "no step"}]
  assert training_series(log) == {"loss": ([1, 2, 3], [40.0, 30.0, 20.0]),
                                  "cross_ent_per_token": ([1, 3], [2.0, 1.0])}
  assert training_series([{"step": 1, "loss": 3.0}]) == {"loss": ([1], [3.0])}
