"""SeqIO tasks of recsaver-t5x: one call registers a domain, one more the mixtures.

    from recsaver_t5x import tasks
    tasks.add_domain("beauty", prepared_dir, samples_store, vocabulary=spm_path)
    tasks.add_mixtures()

Task names follow `recsaver_t5x.tasks.naming` (documented there). For T5X's MIXTURE_OR_TASK_MODULE use
`seqio_tasks.from_config` (the top-level `seqio_tasks` package is this package's T5X-facing
name), which registers the domains listed in $RECSAVER_TASKS_CONFIG.
"""
from recsaver_t5x.tasks.filters import FILTERS, TeacherSample, select_samples
from recsaver_t5x.tasks.naming import (eval_task_name, mixture_name, parse_task_name,
                                train_task_name)
from recsaver_t5x.tasks.registry import add_domain, add_mixtures, registered_domains

__all__ = ["FILTERS", "TeacherSample", "select_samples", "eval_task_name", "mixture_name",
           "parse_task_name", "train_task_name", "add_domain", "add_mixtures",
           "registered_domains", "register_from_config"]


def register_from_config(path: str) -> list[str]:
  """Registers the domains (and mixtures) of a tasks config JSON; see `recsaver_t5x.tasks.from_config`."""
  from recsaver_t5x.tasks import from_config  # pylint: disable=import-outside-toplevel
  return from_config.register(path)
