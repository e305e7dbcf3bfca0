"""Turns run-file sections into command lines of the `recsaver` subcommands.

Every stage runs through the same subcommand a user would type, so a run file and the CLI can
never disagree about an option: `max_tokens = 200` becomes `--max-tokens 200`.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Any, Mapping

from recsaver_t5x.errors import UserFacingError

# [teacher] keys -> the shared teacher flags of zeroshot / sample / references.
TEACHER_FLAGS = {"base_url": "--teacher-base-url", "model": "--teacher-model",
                 "api_key_env": "--teacher-api-key-env", "gguf": "--teacher-gguf",
                 "servers": "--teacher-servers", "ctx": "--teacher-ctx",
                 "concurrency": "--concurrency", "timeout": "--timeout", "max_retries": "--max-retries"}


def flags(section: Mapping[str, Any], rename: Mapping[str, str] | None = None) -> list[str]:
  """{'max_tokens': 200, 'json_schema': True, 'variants': ['a', 'b']} -> --kebab-case CLI flags."""
  out: list[str] = []
  for key, value in section.items():
    flag = (rename or {}).get(key, "--" + key.replace("_", "-"))
    if isinstance(value, bool):
      if value:
        out.append(flag)
    elif isinstance(value, (list, tuple)):
      out += [flag, ",".join(str(v) for v in value)]
    elif isinstance(value, dict):
      raise UserFacingError(f"run file: '{key}' must be a value, not a table")
    else:
      out += [flag, str(value)]
  return out


def teacher_flags(section: Mapping[str, Any]) -> list[str]:
  unknown = set(section) - set(TEACHER_FLAGS)
  if unknown:
    raise UserFacingError(f"run file [teacher]: unknown keys {sorted(unknown)}; known: {sorted(TEACHER_FLAGS)}")
  return flags(section, TEACHER_FLAGS)


def run_subcommand(argv: list[str], env: Mapping[str, str] | None = None) -> None:
  """Runs `recsaver <argv>` as a child process; a non-zero exit stops the pipeline.

  A process per command keeps gin's and SeqIO's global registries, and JAX's device memory,
  from leaking between stages.
  """
  print("  $ recsaver " + " ".join(shlex.quote(a) for a in argv), flush=True)
  code = subprocess.call([sys.executable, "-m", "recsaver_t5x.cli", *argv],
                         env={**os.environ, **(env or {})})
  if code:
    raise UserFacingError(f"stage command failed (exit {code}): recsaver {' '.join(argv)}")
