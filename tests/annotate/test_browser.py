"""`recsaver annotate` in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium. Scripted raters answer with the keyboard and the mouse, one closes the
browser halfway and resumes, the output feeds `recsaver alignment`, and screenshots are taken
(kept in $RECSAVER_SCREENSHOT_DIR when set, to be looked at)."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from recsaver_t5x import cli
from tests.trainer import helpers

pytestmark = pytest.mark.slow


def _driver():
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
  chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
  if not chromium or not driver:
    pytest.fail("chromium/chromedriver missing: run scripts/setup.sh (apt-get install chromium "
                "chromium-driver)")
  opts = webdriver.ChromeOptions()
  opts.binary_location = chromium
  for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1400,1000", "--force-device-scale-factor=1"):
    opts.add_argument(a)
  return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.fixture
def annotate_server(run_dir, tmp_path):
  out = tmp_path / "study"
  proc = subprocess.Popen([sys.executable, "-m", "recsaver_t5x.cli", "annotate", run_dir,
                           "--annotators", "2", "--items", "6", "--out", str(out), "--port", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=helpers.subprocess_env(), cwd=helpers.REPO)
  links = {}
  for _ in range(3):
    line = proc.stdout.readline()
    if not line:
      proc.kill()
      pytest.fail(f"annotate did not start: {proc.stderr.read()[-2000:]}")
    name, url = line.split(": ", 1)
    links[name] = url.split()[0]
  yield links, out
  proc.send_signal(signal.SIGTERM)
  assert proc.wait(30) == 0


def _wait_text(drv, element_id, text, timeout=20):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=import-outside-toplevel
  WebDriverWait(drv, timeout).until(lambda d: text in d.find_element(By.ID, element_id).text)


def _answer_by_keyboard(drv, keys):
  from selenium.webdriver.common.action_chains import ActionChains  # pylint: disable=import-outside-toplevel
  ActionChains(drv).send_keys(*keys).perform()


def test_raters_complete_the_study_in_chromium(annotate_server, tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.common.keys import Keys  # pylint: disable=import-outside-toplevel
  links, out = annotate_server
  shots = os.environ.get("RECSAVER_SCREENSHOT_DIR") or str(tmp_path)
  os.makedirs(shots, exist_ok=True)
  drv = _driver()
  try:
    # rater1: keyboard only (coherence 1-5, y/n, insightfulness, error toggles, Enter)
    drv.get(links["rater1"])
    _wait_text(drv, "count", "Item 1 of 6")
    page = drv.page_source
    assert "### Rating" not in drv.find_element(By.ID, "reasoning").text
    assert "cdn" not in page.lower() and "https://" not in page  # works offline
    assert len(drv.find_elements(By.CSS_SELECTOR, "#history li")) >= 2
    drv.save_screenshot(os.path.join(shots, "annotate_rater_empty.png"))
    _answer_by_keyboard(drv, ["4", "y", "3", "s"])
    drv.save_screenshot(os.path.join(shots, "annotate_rater_answered.png"))
    _answer_by_keyboard(drv, [Keys.ENTER])
    _wait_text(drv, "count", "Item 2 of 6 · 1 saved")
    for n in range(2, 7):
      _answer_by_keyboard(drv, [str(1 + n % 5), "n" if n % 2 else "y", str(1 + (n + 1) % 5),
                                Keys.ENTER])
      if n < 6:
        _wait_text(drv, "count", f"Item {n + 1} of 6 · {n} saved")
    _wait_text(drv, "finished-text", "All 6 items are saved")
    # rater2: mouse, closes the browser after 3 items, comes back and resumes
    drv.get(links["rater2"])
    _wait_text(drv, "count", "Item 1 of 6")
    for n in range(3):
      drv.find_elements(By.CSS_SELECTOR, '[data-name="coherence"] label')[n + 1].click()
      drv.find_elements(By.CSS_SELECTOR, '[data-name="faithfulness"] label')[n % 2].click()
      drv.find_elements(By.CSS_SELECTOR, '[data-name="insightfulness"] label')[2].click()
      drv.find_element(By.ID, "submit").click()
      _wait_text(drv, "count", f"{n + 1} saved")
  finally:
    drv.quit()
  drv = _driver()
  try:
    drv.get(links["rater2"])
    _wait_text(drv, "count", "Item 4 of 6 · 3 saved")  # nothing submitted was lost
    # a missing answer is refused with a message, not saved
    _answer_by_keyboard(drv, ["2", Keys.ENTER])
    _wait_text(drv, "status", "Please answer")
    _answer_by_keyboard(drv, ["y", "2", Keys.ENTER])
    for n in range(5, 7):
      _wait_text(drv, "count", f"Item {n} of 6")
      _answer_by_keyboard(drv, ["5", "y", "4", "o", Keys.ENTER])
    _wait_text(drv, "finished-text", "All 6 items are saved")
    drv.get(links["organiser"])
    assert "final agreement" in drv.page_source and "Cohen" in drv.page_source
    drv.save_screenshot(os.path.join(shots, "annotate_organiser.png"))
  finally:
    drv.quit()
  path = out / "annotations.jsonl"
  rows = [json.loads(l) for l in open(path)]
  assert len(rows) == 12 and {r["annotator"] for r in rows} == {"rater1", "rater2"}
  first = [r for r in rows if r["annotator"] == "rater1"]
  assert sorted(r["coherence"] for r in first) == sorted([4] + [1 + n % 5 for n in range(2, 7)])
  assert any(r["error_types"] == ["incorrect product statistics"] for r in first)
  assert cli.main(["alignment", str(path), "--out", str(tmp_path / "al")]) == 0
  tables = json.load(open(tmp_path / "al" / "alignment.json"))["tables"]
  assert tables[0]["title"].startswith("Table 6") and len(tables[0]["rows"]) == 3
  assert any(t["title"].startswith("Table 13") for t in tables)
