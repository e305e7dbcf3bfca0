"""recsaver-t5x: teacher-LLM reasoning for rating prediction, distilled into Flan-T5 in JAX.

Layers (imports go down only; tests/layers/test_import_direction.py holds the allowed graph):
  core: the top-level modules (errors, scale, shapes, paths, argtypes, answer, targets, jsonl);
  eval: metrics, importing only core;
  data side: data <- prompting <- teacher <- recsaver (baseline <- data);
  model side: model <- trainer (tasks are imported by name, as T5X does);
  tasks (the SeqIO tasks; `seqio_tasks` is their T5X-facing name) <- exp3rt and the data side;
  entry points: rerank, serve, annotate, report, pipeline; `cli` imports subcommands by name.
"""

__version__ = "0.1.0"
