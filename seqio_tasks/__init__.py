"""SeqIO tasks of recsaver-t5x: one call registers a domain, one more the mixtures.

    import seqio_tasks
    seqio_tasks.add_domain("beauty", prepared_dir, samples_store, vocabulary=spm_path)
    seqio_tasks.add_mixtures()

Task names follow `seqio_tasks.naming` (documented there). For T5X's MIXTURE_OR_TASK_MODULE use
`seqio_tasks.from_config`, which registers the domains listed in $RECSAVER_TASKS_CONFIG.
"""
from seqio_tasks.filters import FILTERS, TeacherSample, select_samples
from seqio_tasks.naming import (eval_task_name, mixture_name, parse_task_name,
                                train_task_name)
from seqio_tasks.registry import add_domain, add_mixtures, registered_domains

__all__ = ["FILTERS", "TeacherSample", "select_samples", "eval_task_name", "mixture_name",
           "parse_task_name", "train_task_name", "add_domain", "add_mixtures",
           "registered_domains", "register_from_config"]


def register_from_config(path: str) -> list[str]:
  """Registers the domains (and mixtures) of a tasks config JSON; see `seqio_tasks.from_config`."""
  from seqio_tasks import from_config  # pylint: disable=import-outside-toplevel
  return from_config.register(path)
