"""Every count, rate and policy flag is checked when the command line is parsed, before any work."""
import argparse

import pytest

from recsaver_t5x import argtypes, cli


def _usage_error(capsys, argv):
  with pytest.raises(SystemExit) as e:
    cli.main(argv)
  assert e.value.code == 2
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert "Traceback" not in err
  return err


@pytest.mark.parametrize("argv,needle", [
    (["prepare", "--reviews", "/nonexistent", "--out", "/tmp/x", "--train-per-label", "-1"],
     "argument --train-per-label: must be >= 0, got -1"),
    (["prepare", "--reviews", "/nonexistent", "--out", "/tmp/x", "--seed", "-1"],
     "argument --seed: must be >= 0, got -1"),
    (["prepare", "--reviews", "/nonexistent", "--out", "/tmp/x", "--memory-limit", "lots"],
     "argument --memory-limit: not a memory size: 'lots'"),
    (["prepare", "--reviews", "/nonexistent", "--out", "/tmp/x", "--max-examples-per-user", "0"],
     "argument --max-examples-per-user: must be >= 1, got 0"),
    (["sample", "/nonexistent", "--store", "/tmp/s.jsonl", "--limit", "-1"],
     "argument --limit: must be >= 1, got -1"),
    (["sample", "/nonexistent", "--store", "/tmp/s.jsonl", "--concurrency", "0"],
     "argument --concurrency: must be >= 1, got 0"),
    (["sample", "/nonexistent", "--store", "/tmp/s.jsonl", "--timeout", "nan"],
     "argument --timeout: not a finite number: 'nan'"),
    (["sample", "/nonexistent", "--store", "/tmp/s.jsonl", "-M", "zero"],
     "argument --samples/-M: not an integer: 'zero'"),
    (["zeroshot", "/nonexistent", "--out", "/tmp/z", "--unparsed", "guess"],
     "argument --unparsed: unknown unparsed policy 'guess'"),
    (["zeroshot", "/nonexistent", "--out", "/tmp/z", "--unparsed", "fallback:9"],
     "argument --unparsed: fallback rating must be in 1..5, got 9"),
    (["zeroshot", "/nonexistent", "--out", "/tmp/z", "--temperature", "-0.5"],
     "argument --temperature: must be in [0, inf], got -0.5"),
    (["references", "/nonexistent", "--store", "/tmp/s", "--out", "/tmp/r", "-N", "0"],
     "argument --explanations/-N: must be >= 1, got 0"),
    (["reasoning-metrics", "--references", "/nonexistent", "--store", "/tmp/s", "--batch-size", "0"],
     "argument --batch-size: must be >= 1, got 0"),
    (["synth", "--out", "/tmp/s", "--gzip-level", "12"], "argument --gzip-level: must be <= 9, got 12"),
    (["teacher-serve", "--servers", "0"], "argument --servers: must be >= 1, got 0"),
])
def test_bad_flags_are_usage_errors_before_any_work(capsys, argv, needle):
  assert needle in _usage_error(capsys, argv)


def test_history_bounds_are_checked_before_reading(capsys, tmp_path):
  rc = cli.main(["prepare", "--reviews", "/nonexistent", "--out", str(tmp_path / "o"),
                 "--min-history", "6", "--max-history", "3"])
  assert rc == 2
  assert "--min-history 6 is above --max-history 3" in capsys.readouterr().err
  assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("text,value", [("2GB", "2GB"), ("512 mb", "512MB"), ("1.5GiB", "1.5GiB"),
                                        ("100000", "100000B")])
def test_memory_sizes_in_duckdb_form(text, value):
  assert argtypes.memory_size(text) == value


@pytest.mark.parametrize("text", ["lots", "-1GB", "0", "2 parsecs", ""])
def test_bad_memory_sizes(text):
  with pytest.raises(argparse.ArgumentTypeError):
    argtypes.memory_size(text)


def test_memory_limit_reaches_duckdb_as_it_reads_it():
  import duckdb
  con = duckdb.connect()
  for text in ("2GB", "512 mb", "1.5GiB"):
    con.sql(f"SET memory_limit = '{argtypes.memory_size(text)}'")  # does not raise


@pytest.mark.parametrize("binding,needle", [
    ("BATCH_SIZE = 0", "BATCH_SIZE = 0 (needs an integer >= 1)"),
    ("TRAIN_STEPS = -5", "TRAIN_STEPS = -5 (needs an integer >= 1)"),
    ("DROPOUT_RATE = 1.5", "DROPOUT_RATE = 1.5 (needs a number in [0, 1))"),
    ("LEARNING_RATE = -0.1", "LEARNING_RATE = -0.1 (needs a number >= 0)"),
    ("TASK_FEATURE_LENGTHS = {'inputs': 0, 'targets': 8}", "TASK_FEATURE_LENGTHS['inputs'] = 0"),
])
def test_gin_macros_are_checked_after_parsing(binding, needle):
  from recsaver_t5x.errors import UserFacingError
  from recsaver_t5x.trainer import gin_utils
  with pytest.raises(UserFacingError, match="gin: invalid values") as e:
    gin_utils.parse(["tiny_cpu.gin"], ["MODEL_DIR = '/tmp/m'", "MIXTURE_OR_TASK_NAME = 'x'", binding])
  assert needle in str(e.value)


def test_good_gin_macros_pass():
  from recsaver_t5x.trainer import gin_utils
  gin_utils.parse(["tiny_cpu.gin"], ["MODEL_DIR = '/tmp/m'", "MIXTURE_OR_TASK_NAME = 'x'",
                                     "BATCH_SIZE = 2"])
