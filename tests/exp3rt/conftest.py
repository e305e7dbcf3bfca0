"""Shared fixture: a small real-data EXP3RT directory built through the CLI and a loopback teacher."""
import pytest

from recsaver_t5x import cli
from recsaver_t5x.data.prepare import PrepareConfig, prepare
from tests.exp3rt.rule_teacher import RuleTeacher

MAG = "magazine_subscriptions"


@pytest.fixture(scope="session")
def built(amazon_dir, tmp_path_factory):
  d = amazon_dir / MAG
  root = tmp_path_factory.mktemp("exp3rt")
  prep = root / "prep"
  prepare(PrepareConfig(domain=MAG, reviews=(str(d / "Magazine_Subscriptions_5.json.gz"),),
                        meta=(str(d / "meta_Magazine_Subscriptions.json.gz"),),
                        train_per_label=4, test_per_label=2), str(prep))
  out, store = root / "x", root / "store.jsonl"
  with RuleTeacher() as teacher:
    t = ["--teacher-base-url", teacher.url, "--teacher-model", "rule", "--no-progress"]
    common = [str(prep), "--out", str(out), "--store", str(store)] + t
    assert cli.main(["preferences"] + common + ["--user-cap", "4", "--item-cap", "3"]) == 0
    assert cli.main(["profiles"] + common) == 0
    assert cli.main(["exp3rt-rationales"] + common) == 0
    n_calls = len(teacher.prompts)
    # Rerun: everything is in the store, no new call.
    assert cli.main(["preferences"] + common + ["--user-cap", "4", "--item-cap", "3"]) == 0
    assert cli.main(["profiles"] + common) == 0
    assert cli.main(["exp3rt-rationales"] + common) == 0
    assert len(teacher.prompts) == n_calls
  return prep, out, store, n_calls


