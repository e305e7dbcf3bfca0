"""`recsaver train`: fine-tune (or resume) a T5 model, configured by gin with T5X macro names.

    recsaver train --gin_file=tiny_cpu.gin --gin.MODEL_DIR=/tmp/m \\
        --gin.TASKS_CONFIG=/tmp/tasks.json --gin.MIXTURE_OR_TASK_NAME="'recsaver_beauty_rating'"

Rerunning the same command after a crash resumes from the last checkpoint in MODEL_DIR.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from recsaver_t5x.trainer import distributed, gin_utils


def add_arguments(parser: argparse.ArgumentParser) -> None:
  gin_utils.add_gin_arguments(parser)
  parser.add_argument("--distributed", choices=distributed.MODES, default="auto",
                      help="jax.distributed start-up: auto (from JAX_*/SLURM env), on, off")
  parser.add_argument("--print_config", action="store_true",
                      help="print the parsed gin config and exit without training")


def _log_to_stderr() -> None:
  import logging  # pylint: disable=import-outside-toplevel
  logger = logging.getLogger("recsaver_t5x")
  if not logger.handlers:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("recsaver %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(args: argparse.Namespace) -> int:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  _log_to_stderr()
  distributed.initialize(args.distributed)
  import gin  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.set_visible_devices([], "GPU")  # tf.data only: leave accelerators to JAX
  from recsaver_t5x.trainer import train_lib  # pylint: disable=import-outside-toplevel
  gin_utils.parse(args.gin_file, args.gin_bindings, args.gin_search_path)
  if args.print_config:
    print(gin.config_str())
    return 0
  from recsaver_t5x.errors import UserFacingError  # pylint: disable=import-outside-toplevel
  try:
    result = gin.get_configurable(train_lib.train)()
  except UserFacingError as e:
    # gin appends "In call to configurable ..." to exceptions; the user needs the one line.
    raise UserFacingError(str(e).split("\n  In call to configurable")[0].strip()) from None
  import jax  # pylint: disable=import-outside-toplevel
  model_dir = gin.query_parameter("%MODEL_DIR")
  if model_dir and jax.process_index() == 0:
    with open(os.path.join(model_dir, "config.gin"), "w", encoding="utf-8") as f:
      f.write(gin.operative_config_str())
  print(json.dumps(result, sort_keys=True))
  sys.stdout.flush()
  return 0
