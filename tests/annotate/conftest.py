"""Two students' predictions (evaluate's format) over real-format prepared examples."""
import json
import os

import pytest

from recsaver_t5x.data import io as data_io
from tests.tasks import fakedata


def make_run(directory: str, n: int = 12) -> str:
  """A run dir with prepared/beauty/test.jsonl and eval/<student>/predictions_*.jsonl."""
  examples = fakedata.make_examples(n, "beauty", seed=3, prefix="te")
  prep = os.path.join(directory, "prepared", "beauty")
  os.makedirs(prep, exist_ok=True)
  data_io.write_examples(os.path.join(prep, "test.jsonl"), examples)
  for s, student in enumerate(("small_reason", "base_reason")):
    d = os.path.join(directory, "eval", student)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "predictions_recsaver_beauty_reason_eval.jsonl"), "w") as f:
      for i, ex in enumerate(examples):
        pred = ex.true_rating if (i + s) % 2 == 0 else (ex.true_rating % 5) + 1
        text = (f"### Reason ### The user gave high marks to gentle products like "
                f"{ex.history[0].item.title}; this {ex.target.title} looks similar. "
                f"### Rating ### {pred}")
        f.write(json.dumps({"example_id": ex.example_id, "domain": "beauty",
                            "true_rating": ex.true_rating, "text": text, "rating": pred,
                            "unparsed_reason": None, "probs": [0.2] * 5,
                            "marker_appended": False}) + "\n")
  return directory


@pytest.fixture
def run_dir(tmp_path):
  return make_run(str(tmp_path / "run"))
