"""T5X-facing name of `recsaver_t5x.tasks` (gin's MIXTURE_OR_TASK_MODULE, seqio's --module_import).

The tasks live in `recsaver_t5x.tasks`; this package only re-exports them so that existing gin files,
launch scripts and `import seqio_tasks` keep working. Nothing in `recsaver_t5x` imports it.
"""
from recsaver_t5x.tasks import *  # noqa: F401,F403  pylint: disable=wildcard-import
from recsaver_t5x.tasks import __all__, register_from_config  # noqa: F401
