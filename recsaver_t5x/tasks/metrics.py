"""Postprocessing and metric functions of the eval tasks (seqio conventions).

- `postprocess`: a decoded model output -> {"text", "predicted_rating"} (parsed by
  `answer.parse_answer`, None when unparsed); a target -> {"true_rating", "example_id"} from the
  example's `true_rating` feature (never from the target text).
- `rating_text_metrics(targets, predictions, aux_values)`: binary/5-class accuracy, F1, MAE, RMSE
  and the unparsed count (a seqio "predict_with_aux" metric that ignores the aux values, so one
  decode pass serves both metric fns).
- `rating_prob_metrics(targets, predictions, aux_values)`: binary and multi-class ROC-AUC from
  the five rating-token probabilities that the model returns as aux output `rating_probs`
  (seqio "predict_with_aux" metric; T5X's `predict_batch_with_aux` path).
- `reasoning_metric_fn(references, scorer)`: Rec-SAVER reasoning metrics of the decoded reasoning
  against verified references, by example id (`eval.reasoning_metrics.reasoning_report`).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from recsaver_t5x.eval.rating_metrics import rating_metrics
from recsaver_t5x.eval.reasoning_metrics import Candidate, ReasoningScorer, reasoning_report
from recsaver_t5x.answer import parse_answer

AUX_KEY = "rating_probs"
TEXT_KEYS = ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse", "n", "n_unparsed")


def _str(x: Any) -> str:
  return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def postprocess(output: Any, example: Optional[Mapping[str, Any]] = None,
                is_target: bool = False) -> dict:
  """seqio postprocess_fn (see module docstring)."""
  if is_target:
    if example is None or "true_rating" not in example:
      raise ValueError("eval targets need the example's 'true_rating' feature")
    return {"true_rating": int(np.asarray(example["true_rating"])),
            "example_id": _str(np.asarray(example["example_id"]).item())
            if "example_id" in example else ""}
  text = _str(output)
  return {"text": text, "predicted_rating": parse_answer(text).rating}


def _numeric(d: Mapping[str, Any], keys: Sequence[str]) -> dict:
  return {k: (d[k] if isinstance(d[k], int) else float(d[k]))
          for k in keys if k in d and isinstance(d[k], (int, float))}


def rating_text_metrics(targets: Sequence[dict], predictions: Sequence[dict],
                        aux_values: Mapping[str, Any]) -> dict:
  """Rating metrics from decoded text (unparsed outputs excluded and counted).

  It takes (and ignores) `aux_values` so that seqio counts it as a predict_with_aux metric fn:
  with `rating_prob_metrics`, one `predict_with_aux` decode pass serves both (a plain
  `predict` fn would make `t5x.eval` decode everything a second time).
  """
  del aux_values
  m = rating_metrics([t["true_rating"] for t in targets], [p["predicted_rating"] for p in predictions])
  return _numeric(m, TEXT_KEYS)


def rating_prob_metrics(targets: Sequence[dict], predictions: Sequence[dict],
                        aux_values: Mapping[str, Any]) -> dict:
  """Binary and multi-class AUC from the rating-token probabilities (aux output)."""
  del predictions
  if AUX_KEY not in aux_values:
    raise KeyError(f"the model returned no aux output '{AUX_KEY}' (got {sorted(aux_values)}); "
                   "use recsaver_t5x.trainer.t5x_model.RatingEncoderDecoderModel")
  probs = np.asarray(aux_values[AUX_KEY], dtype=np.float64).reshape(len(targets), 5)
  y = [t["true_rating"] for t in targets]
  m = rating_metrics(y, [None] * len(y), probs=probs)
  return {"binary_auc": m["binary_auc"], "multi_auc": m["multi_auc"]}


def reasoning_metric_fn(references: Mapping[str, Sequence[str]], scorer: ReasoningScorer
                        ) -> Callable[[Sequence[dict], Sequence[dict]], dict]:
  """A seqio predict metric: `reasoning_metrics.reasoning_report` of the decoded outputs (means
  over examples with references; those without are counted in `n_no_reference`)."""
  def reasoning_metrics(targets: Sequence[dict], predictions: Sequence[dict]) -> dict:
    report = reasoning_report([Candidate(t["example_id"], p["text"])
                               for t, p in zip(targets, predictions)], references, scorer)
    out = {k: float(v) for k, v in report.summary()["all"].items() if k != "n_no_references"}
    out["n_no_reference"] = float(len(report.no_references))
    return {k: v for k, v in out.items() if not math.isinf(v) and not math.isnan(v)}
  return reasoning_metrics
