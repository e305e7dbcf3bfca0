"""Gin plumbing shared by `recsaver train` and `recsaver evaluate` (T5X's flag conventions).

  --gin_file=FILE           parsed in order (several allowed); searched in the current directory,
                            --gin_search_path entries, the repository's gin/ directory and the
                            repository root (so both tiny_cpu.gin and gin/tiny_cpu.gin work).
  --gin.KEY=VALUE           one binding, e.g. --gin.TRAIN_STEPS=100 or --gin.MODEL_DIR="'/tmp/m'".
                            VALUE is a gin literal; a bare path or word that is not one
                            (/tmp/m, runs/x) is quoted for you.
"""
from __future__ import annotations

import argparse
import os
import re
from typing import Sequence

import recsaver_t5x

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(recsaver_t5x.__file__))),
                       "gin")
_PREFIX = "--gin."
_LITERAL = re.compile(r"""^(['"\[{(@%]|-?\d|True$|False$|None$|-?\.\d|-?inf$)""")


def add_gin_arguments(parser: argparse.ArgumentParser) -> None:
  """--gin_file/--gin_search_path, and `--gin.KEY=VALUE` bindings collected into args.gin_bindings.

  argparse has no wildcard option names, so this subparser's parse_known_args moves every
  `--gin.` argument aside before parsing (the parent parser calls it for the subcommand).
  """
  parser.add_argument("--gin_file", action="append", default=[], metavar="FILE",
                      help="gin config file (repeatable); see gin/ for the shipped ones")
  parser.add_argument("--gin_search_path", action="append", default=[], metavar="DIR",
                      help="extra directory for gin files and their includes")
  parser.epilog = ("Bindings: --gin.KEY=VALUE, e.g. --gin.TRAIN_STEPS=100 "
                   "--gin.MODEL_DIR=/tmp/model (T5X macro names; see gin/base.gin).")
  original = parser.parse_known_args

  def parse_known_args(args=None, namespace=None):
    args = list(args if args is not None else [])
    bindings = [a for a in args if a.startswith(_PREFIX)]
    rest = [a for a in args if not a.startswith(_PREFIX)]
    ns, extras = original(rest, namespace)
    try:
      ns.gin_bindings = [to_binding(a) for a in bindings]
    except ValueError as e:
      parser.error(str(e))  # the usual one-line usage error, exit 2
    return ns, extras
  parser.parse_known_args = parse_known_args


def to_binding(arg: str) -> str:
  """'--gin.KEY=VALUE' -> 'KEY = VALUE' with VALUE quoted when it is not a gin literal."""
  body = arg[len(_PREFIX):]
  if "=" not in body or not body.split("=", 1)[0].strip():
    raise ValueError(f"{arg}: expected --gin.KEY=VALUE")
  key, value = body.split("=", 1)
  value = value.strip()
  if not _LITERAL.match(value):
    value = repr(value)
  return f"{key.strip()} = {value}"


def parse(gin_files: Sequence[str], bindings: Sequence[str],
          search_paths: Sequence[str] = ()) -> None:
  """Parses gin files and bindings (clears earlier config first)."""
  import gin  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  import logging  # pylint: disable=import-outside-toplevel
  gin.clear_config()
  # The repository root too, so that "gin/tiny_cpu.gin" resolves from any directory.
  for path in [os.getcwd(), *search_paths, GIN_DIR, os.path.dirname(GIN_DIR)]:
    gin.add_config_file_search_path(path)
  if not gin_files:
    raise UserFacingError("no --gin_file given; e.g. --gin_file=tiny_cpu.gin (see gin/)")
  # gin logs an ERROR for every search-path miss before it finds a file; those are not errors.
  quiet = _DropMessages("Path not found")
  logging.getLogger().addFilter(quiet)
  try:
    gin.parse_config_files_and_bindings(list(gin_files), list(bindings),
                                        finalize_config=False)
  except UnicodeDecodeError as e:  # a ValueError whose message lacks the file: one_line finds it
    from recsaver_t5x.errors import one_line  # pylint: disable=import-outside-toplevel
    raise UserFacingError(f"gin: {one_line(e)}") from None
  except (IOError, ValueError, SyntaxError) as e:
    raise UserFacingError(f"gin: {e}") from None
  finally:
    logging.getLogger().removeFilter(quiet)
  check_macros()


# Macros (T5X names) whose values are checked right after parsing, before TensorFlow or JAX does
# any work: a zero batch size is a one-line error here, not a TensorFlow traceback later.
_POSITIVE_INT = ("BATCH_SIZE", "TRAIN_STEPS", "CHECKPOINT_PERIOD", "KEEP_CHECKPOINTS", "LOG_EVERY",
                 "NUM_PARTITIONS", "EVAL_PERIOD", "EVAL_STEPS")
_NONNEG_INT = ("RANDOM_SEED",)
_RATE = ("DROPOUT_RATE",)  # in [0, 1)
_NONNEG_REAL = ("LEARNING_RATE",)  # 0 is legitimate: it freezes the parameters (tests use it)


def macro_problems(values) -> list[str]:
  """What is wrong with these macro values ({name: value}; macros not checked here are ignored).

  Shared by `check_macros` (after gin parsed its files) and the run-file check of `recsaver run`
  (the [train] section and the students' gin tables), so a zero batch size in a run file fails
  before the first stage, not when the train stage starts.
  """
  def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)

  def is_real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v

  problems = []
  for name in _POSITIVE_INT + _NONNEG_INT:
    v = values.get(name)
    low = 1 if name in _POSITIVE_INT else 0
    if v is not None and not (is_int(v) and v >= low):
      problems.append(f"{name} = {v!r} (needs an integer >= {low})")
  for name in _RATE:
    v = values.get(name)
    if v is not None and not (is_real(v) and 0 <= v < 1):
      problems.append(f"{name} = {v!r} (needs a number in [0, 1))")
  for name in _NONNEG_REAL:
    v = values.get(name)
    if v is not None and not (is_real(v) and v >= 0):
      problems.append(f"{name} = {v!r} (needs a number >= 0)")
  lengths = values.get("TASK_FEATURE_LENGTHS")
  if isinstance(lengths, dict):
    for k, v in lengths.items():
      if not (is_int(v) and v >= 1):
        problems.append(f"TASK_FEATURE_LENGTHS[{k!r}] = {v!r} (needs an integer >= 1)")
  return problems


def check_macros() -> None:
  """Checks the bound macros listed above (unbound ones are skipped); raises UserFacingError."""
  import gin  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel

  values = {}
  for name in _POSITIVE_INT + _NONNEG_INT + _RATE + _NONNEG_REAL + ("TASK_FEATURE_LENGTHS",):
    try:
      values[name] = gin.query_parameter(f"%{name}")
    except ValueError:  # not bound in these gin files
      pass
  problems = macro_problems(values)
  if problems:
    raise UserFacingError("gin: invalid values: " + "; ".join(problems))


class _DropMessages:
  def __init__(self, prefix: str):
    self.prefix = prefix

  def filter(self, record) -> bool:
    return not str(record.msg).startswith(self.prefix)
