"""`MIXTURE_OR_TASK_MODULE = 'seqio_tasks.from_config'`: registers $RECSAVER_TASKS_CONFIG on import.

See `recsaver_t5x.tasks.from_config` (the implementation; importing it registers the domains).
"""
from recsaver_t5x.tasks.from_config import ENV_VAR, REGISTERED, register  # noqa: F401
