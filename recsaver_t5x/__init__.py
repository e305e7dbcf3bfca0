"""recsaver-t5x: teacher-LLM reasoning for rating prediction, distilled into Flan-T5 in JAX.

Pipeline folders: data -> prompting -> teacher -> recsaver -> model -> trainer -> eval -> report.
"""

__version__ = "0.1.0"
