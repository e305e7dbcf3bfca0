"""Registers tasks from a JSON config on import: the MIXTURE_OR_TASK_MODULE for T5X.

T5X imports MIXTURE_OR_TASK_MODULE by name and cannot pass arguments, so the domains come from
the file named by the environment variable RECSAVER_TASKS_CONFIG (nothing happens without it):

    {"vocabulary": "/path/spm.model",            # optional; default Flan-T5's vocabulary
     "budget": {"max_prompt_chars": 8000},       # optional prompt budget (variants.Budget)
     "ms": [1, 3, 5], "filters": ["all", "exact", "binary", "oneoff"],   # optional
     "domains": [{"name": "beauty", "prepared_dir": "...", "samples_store": "...",
                  "wording": "beauty", "teacher_model": null, "temperature": null,
                  "references": "...",                  # optional: verified references
                  "exp3rt": "..."}],                    # optional: EXP3RT directory
     "reasoning_metrics": {"metrics": ["bleu", "rouge1_f1"], "bertscore_model": "auto"},
     "mixtures": true,
     "cache_dirs": ["gs://bucket/cache"]}         # optional: seqio offline caches (launch/)

Relative paths are resolved against the config file's directory. `recsaver train` reads the same
file through its TASKS_CONFIG gin macro.
"""
from __future__ import annotations

import json
import os

from recsaver_t5x import shapes
from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.prompting import variants
from recsaver_t5x.tasks import naming, registry

ENV_VAR = "RECSAVER_TASKS_CONFIG"
_TOP_KEYS = {"vocabulary", "budget", "ms", "filters", "domains", "reasoning_metrics", "mixtures",
             "cache_dirs"}
_DOMAIN_KEYS = {"name", "prepared_dir", "samples_store", "wording", "teacher_model",
                "temperature", "references", "exp3rt"}


def _path(base: str, p):
  if p is None or "://" in str(p) or os.path.isabs(str(p)):
    return p
  return os.path.normpath(os.path.join(base, str(p)))


def register(path: str) -> list[str]:
  """Registers everything the config lists; returns the task and mixture names."""
  try:
    with open(path, encoding="utf-8") as f:
      cfg = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise InputError(path, f"cannot read tasks config: {e}") from None
  shapes.as_object(path, None, cfg, _TOP_KEYS)
  base = os.path.dirname(os.path.abspath(path))
  if cfg.get("cache_dirs"):
    import seqio  # pylint: disable=import-outside-toplevel
    seqio.add_global_cache_dirs([_path(base, d) for d in
                                 shapes.as_list(path, "cache_dirs", cfg["cache_dirs"], str)])
  if not cfg.get("domains"):
    raise InputError(path, "no domains listed", field="domains")
  shapes.as_list(path, "domains", cfg["domains"], dict)
  vocab = _path(base, cfg.get("vocabulary", registry.FLAN_T5_SPM))
  budget = shapes.as_dataclass(path, "budget", variants.Budget, cfg.get("budget", {}))
  ms = tuple(shapes.as_list(path, "ms", cfg.get("ms", list(registry.DEFAULT_MS)), int))
  filter_names = tuple(shapes.as_list(path, "filters", cfg.get("filters", list(naming.FILTER_NAMES)),
                                      str))
  shapes.as_object(path, "reasoning_metrics", cfg.get("reasoning_metrics", {}))
  names: list[str] = []
  scorer = None
  for i, d in enumerate(cfg["domains"]):
    shapes.as_object(path, f"domains[{i}]", d, _DOMAIN_KEYS)
    if "name" not in d or "prepared_dir" not in d:
      raise InputError(path, "needs name and prepared_dir", field=f"domains[{i}]")
    refs = None
    if d.get("references"):
      # pylint: disable=import-outside-toplevel
      from recsaver_t5x.eval.reasoning_metrics import ReasoningScorer, ScorerConfig
      from recsaver_t5x.eval.references_file import load_references
      refs = load_references(_path(base, d["references"]))
      if scorer is None:  # one scorer (its models load once, on first use) for all domains
        opts = dict(cfg.get("reasoning_metrics", {}))
        if "metrics" in opts:
          opts["metrics"] = tuple(opts["metrics"])
        scorer = ReasoningScorer(ScorerConfig(**opts))
    names += registry.add_domain(
        d["name"], _path(base, d["prepared_dir"]), _path(base, d.get("samples_store")), vocab,
        wording=d.get("wording"), budget=budget, ms=ms, filter_names=filter_names,
        teacher_model=d.get("teacher_model"), temperature=d.get("temperature"),
        references=refs, reasoning_scorer=scorer if refs is not None else None,
        exp3rt_dir=_path(base, d.get("exp3rt")))
  if cfg.get("mixtures", True):
    names += registry.add_mixtures([d["name"] for d in cfg["domains"]], ms=ms,
                                   filter_names=filter_names)
  return names


def register_from_env() -> list[str]:
  path = os.environ.get(ENV_VAR)
  if not path:
    return []
  if not os.path.exists(path):
    raise UserFacingError(f"${ENV_VAR}={path}: no such tasks config")
  return register(path)


REGISTERED = register_from_env()
