"""One flag style: every option of every subcommand has a --kebab-case spelling; the old
--snake_case spellings still parse (one release) to the same destination."""
import argparse

import pytest

from recsaver_t5x import cli


def _subparser(name):
  parser = cli.build_parser([name])
  sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # pylint: disable=protected-access
  return sub.choices[name]


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_option_has_a_kebab_spelling(name):
  p = _subparser(name)
  for action in p._actions:  # pylint: disable=protected-access
    longs = [s for s in action.option_strings if s.startswith("--")]
    if longs:
      assert "_" not in longs[0], f"recsaver {name} {longs[0]}: no --kebab-case spelling first"


def test_old_spellings_still_parse():
  p = _subparser("evaluate")
  a = p.parse_args(["--model_dir", "m", "--task", "t", "--batch_size", "4", "--task_module", "x"])
  b = p.parse_args(["--model-dir", "m", "--task", "t", "--batch-size", "4", "--task-module", "x"])
  assert vars(a) == vars(b) and b.model_dir == "m" and b.batch_size == 4 and b.task_module == ["x"]
  t = _subparser("train")
  ns, _ = t.parse_known_args(["--gin_file", "a.gin", "--gin-file", "b.gin", "--gin.X=1"])
  assert ns.gin_file == ["a.gin", "b.gin"] and ns.gin_bindings == ["X = 1"]
