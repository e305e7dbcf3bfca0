"""Shared pytest set-up: the slow marker and where the shared real data lives."""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("RECSAVER_SHARED", REPO.parent / "shared"))
AMAZON = SHARED / "data" / "amazon"


def pytest_addoption(parser):
  parser.addoption("--slow", action="store_true", default=False,
                   help="also run tests marked slow (real servers, real models, end-to-end); CI does")


def pytest_configure(config):
  config.addinivalue_line("markers", "slow: needs a real server/model or minutes of CPU; run with --slow")


def pytest_collection_modifyitems(config, items):
  if config.getoption("--slow"):
    return
  skip = pytest.mark.skip(reason="slow: run with --slow (CI does)")
  for item in items:
    if "slow" in item.keywords:
      item.add_marker(skip)


@pytest.fixture(scope="session")
def amazon_dir() -> pathlib.Path:
  if not AMAZON.is_dir():
    pytest.fail(f"shared real data not found at {AMAZON}; set RECSAVER_SHARED")
  return AMAZON
