"""Evaluation of a trained student: decode, parse, rating-token probabilities, metrics.

For each eval task (a task, or every task of a mixture) and its split:
  1. decode the inputs, greedily by default or by beam search (`decode_choice`; KV-cache
     decoders of `recsaver_t5x.model.decoding`);
  2. parse the rating from the decoded text (the teacher module's parser);
  3. one teacher-forced pass over the decoded prefix gives the five rating-token probabilities
     (`recsaver_t5x.model.rating_probs`), appending the marker where a decode lacks it;
  4. the task's own seqio metric fns (rating metrics from text; AUC from the probabilities,
     as T5X's predict_with_aux path) and optional Rec-SAVER reasoning metrics.
Outputs in `output_dir`: `predictions_<task>.jsonl` (one line per example: id, true rating,
text, parsed rating, unparsed reason, 5 probabilities, whether the marker was appended),
`metrics.json`, and `metrics.md` (a row in the layout of the study's Tables 4/5).
Predictions are appended batch by batch; a rerun skips examples already predicted.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Callable, Iterable, Optional, Sequence

import jax
import numpy as np
import seqio
from tqdm.auto import tqdm

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.eval.rating_metrics import AUC_COLUMNS, TABLE3_COLUMNS, format_table, rating_metrics
from recsaver_t5x.model import model_dir as model_dir_lib
from recsaver_t5x.model.config import T5Config
from recsaver_t5x.trainer.decode_choice import DecodeChoice, parse_decode
from recsaver_t5x.model.network import Transformer
from recsaver_t5x.model.rating_probs import rating_distribution, rating_token_ids
from recsaver_t5x.answer import parse_answer

TABLE_COLUMNS = TABLE3_COLUMNS + AUC_COLUMNS


@dataclasses.dataclass(frozen=True)
class Prediction:
  example_id: str
  domain: str
  true_rating: int
  text: str
  predicted_rating: Optional[int]
  unparsed_reason: Optional[str]
  probs: tuple[float, ...]
  marker_appended: bool
  checkpoint_step: Optional[int] = None  # which model made it: a file never mixes two
  model_fingerprint: Optional[str] = None

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


def load_model(model_dir: str, step: Optional[int] = None, model_config: Optional[str] = None,
               gin_search_paths: Sequence[str] = ()) -> tuple[T5Config, Any, int]:
  """(config without dropout, params, step): see `model_dir.load_model_dir`."""
  config, params, step = model_dir_lib.load_model_dir(model_dir, step, model_config,
                                                      gin_search_paths)
  return config.replace(dropout_rate=0.0), params, step


def model_fingerprint(model_dir: str, step: int) -> str:
  """Identifies the checkpoint files themselves (names, sizes, mtimes): a retrained model differs."""
  root = os.path.join(model_dir, f"checkpoint_{step}")
  h = hashlib.sha256(str(step).encode())
  for base, _, files in sorted(os.walk(root)):
    for f in sorted(files):
      st = os.stat(os.path.join(base, f))
      h.update(f"{os.path.relpath(os.path.join(base, f), root)}:{st.st_size}:{st.st_mtime_ns};".encode())
  return h.hexdigest()[:16]


def eval_tasks(name: str) -> list[seqio.Task]:
  provider = seqio.get_mixture_or_task(name)
  return list(provider.tasks) if isinstance(provider, seqio.Mixture) else [provider]


def _batches(task: seqio.Task, split: str, input_length: int, batch_size: int,
             skip: set) -> Iterable[list[dict]]:
  ds = task.get_dataset({"inputs": input_length, "targets": 1 << 20}, split=split,
                        shuffle=False, num_epochs=1)
  batch = []
  for ex in ds.as_numpy_iterator():
    if ex["example_id"].decode() in skip:
      continue
    batch.append(ex)
    if len(batch) == batch_size:
      yield batch
      batch = []
  if batch:
    yield batch


def _pad_inputs(batch: list[dict], batch_size: int, input_length: int) -> np.ndarray:
  # A fixed [batch_size, input_length] shape: decoding compiles once.
  out = np.zeros((batch_size, input_length), np.int32)
  for i, ex in enumerate(batch):
    out[i, :len(ex["inputs"])] = ex["inputs"]
  return out


def predict_task(config: T5Config, params: Any, task: seqio.Task, split: str, input_length: int,
                 max_decode_length: int, batch_size: int, out_path: str,
                 progress: bool = True, decode: Optional[DecodeChoice] = None,
                 made_by: tuple[Optional[int], Optional[str]] = (None, None)) -> list[Prediction]:
  """Predictions for every example of `task`/`split`, resuming `out_path` if it exists.

  `made_by` = (checkpoint step, model fingerprint), written on every record; resuming a file
  written by another model is refused.
  """
  vocab = task.output_features["targets"].vocabulary
  tokens = rating_token_ids(vocab)
  done = _read_predictions(out_path)
  _check_one_model(out_path, done.values(), made_by)
  model = Transformer(config)
  total = None
  try:
    total = task.num_input_examples(split)
  except (KeyError, TypeError, ValueError):
    pass
  bar = tqdm(total=total, initial=len(done), disable=not progress, unit="ex",
             desc=f"evaluate {task.name}")
  with open(out_path, "a", encoding="utf-8") as out:
    for batch in _batches(task, split, input_length, batch_size, set(done)):
      enc = _pad_inputs(batch, batch_size, input_length)
      decoded = np.asarray((decode or DecodeChoice("greedy")).decode(
          model, params, enc, max_decode_length))
      dist = rating_distribution(model, params, enc, decoded, tokens=tokens)
      for i, ex in enumerate(batch):
        row = decoded[i].tolist()
        row = row[:row.index(1)] if 1 in row else row
        text = vocab.decode(row)
        parsed = parse_answer(text)
        p = Prediction(ex["example_id"].decode(), ex["domain"].decode(), int(ex["true_rating"]),
                       text, parsed.rating, parsed.unparsed_reason,
                       tuple(float(x) for x in dist.probs[i]), bool(dist.marker_appended[i]), *made_by)
        out.write(json.dumps(p.to_json()) + "\n")
        done[p.example_id] = p
      out.flush()
      bar.update(len(batch))
  bar.close()
  return list(done.values())


def _check_one_model(path: str, preds: Iterable[Prediction], made_by: tuple) -> None:
  seen = {(p.checkpoint_step, p.model_fingerprint) for p in preds}
  if made_by[1] is not None:
    seen.add(tuple(made_by))
  if len(seen) > 1:
    found = ", ".join(f"step {s} ({f or 'unrecorded'})" for s, f in sorted(seen, key=str))
    raise UserFacingError(f"{path}: predictions of different models would mix ({found}); "
                          "delete the file or choose another --output_dir")


def _read_predictions(path: str) -> dict[str, Prediction]:
  done: dict[str, Prediction] = {}
  if not os.path.exists(path):
    return done
  with open(path, encoding="utf-8") as f:
    lines = f.read().split("\n")
  good = []
  for line in lines:
    if not line.strip():
      continue
    try:
      d = json.loads(line)
    except json.JSONDecodeError:
      break  # a torn last line (killed mid-write): redo from there
    d["probs"] = tuple(d["probs"])
    if "rating" in d:  # written before the rename; accepted for one release
      d["predicted_rating"] = d.pop("rating")
    done[d["example_id"]] = Prediction(**d)
    good.append(line)
  with open(path, "w", encoding="utf-8") as f:  # drop a torn tail before appending
    f.write("".join(g + "\n" for g in good))
  return done


def task_metrics(task: seqio.Task, predictions: Sequence[Prediction],
                 unparsed: str = "exclude") -> dict:
  """The task's seqio metric fns on our predictions, plus counts.

  Targets/predictions are built exactly as seqio's Evaluator builds them (the task's
  postprocess_fn), the probabilities are passed as aux values. The seqio metric fns exclude
  unparsed predictions; another `unparsed` policy ("fallback:K", "distribution") recomputes
  the text metrics under it. The policy is part of the result (`unparsed_policy`).
  """
  targets = [task.postprocess_fn(None, example={"true_rating": p.true_rating,
                                                "example_id": p.example_id.encode()},
                                 is_target=True) for p in predictions]
  preds = [task.postprocess_fn(p.text, example=None, is_target=False) for p in predictions]
  aux = {"rating_probs": np.asarray([p.probs for p in predictions], np.float64)}
  out: dict = {}
  for fn in task.predict_metric_fns:
    out.update(fn(targets, preds))
  for fn in task.predict_with_aux_metric_fns:
    out.update(fn(targets, preds, aux))
  out["n_marker_appended"] = int(sum(p.marker_appended for p in predictions))
  out["unparsed_policy"] = "exclude"
  if unparsed != "exclude":
    out.update(_policy_metrics(predictions, unparsed))
  return out


def _policy_metrics(preds: Sequence[Prediction], unparsed: str) -> dict:
  m = rating_metrics([p.true_rating for p in preds], [p.predicted_rating for p in preds],
                     probs=np.asarray([p.probs for p in preds]), unparsed=unparsed)
  return {k: m[k] for k in ("binary_acc", "binary_f1", "multi_acc", "mae", "rmse",
                            "unparsed_policy")}


def reasoning_report(preds: Sequence[Prediction], references_path: str,
                     scorer_config: Any = None) -> Any:
  """Rec-SAVER reasoning metrics of the decoded reasoning against verified references.

  Returns the reasoning-metrics `MetricsReport` (means for correct / incorrect / all rating
  predictions, the study's Table 11; examples without references excluded and counted).
  """
  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.eval import reasoning_metrics as rmx
  from recsaver_t5x.eval.references_file import load_references
  return rmx.reasoning_report(
      [rmx.Candidate(p.example_id, p.text, p.true_rating, p.predicted_rating) for p in preds],
      load_references(references_path), rmx.ReasoningScorer(scorer_config or rmx.ScorerConfig()))


def evaluate(model_dir: str, mixture_or_task_name: str, output_dir: Optional[str] = None,
             split: str = "test", step: Optional[int] = None, input_length: int = 2048,
             max_decode_length: int = 512, batch_size: int = 16, label: Optional[str] = None,
             progress: bool = True, references: Optional[str] = None,
             scorer_config: Any = None, decode: str = "greedy", unparsed: str = "exclude",
             model_config: Optional[str] = None, gin_search_paths: Sequence[str] = ()) -> dict:
  """Evaluates a model directory on an eval task or mixture; returns {task: metrics}.

  `decode`: 'greedy' or 'beam:K' (see `decode_choice`), recorded in metrics.json; the default
  output dir is MODEL_DIR/eval_<step> (greedy) or MODEL_DIR/eval_<step>_beam<K>.
  `unparsed`: how a decode without a parsable rating counts ("exclude", "fallback:K", or
  "distribution": the most probable rating after the appended marker); always reported.

  With `references` (a `recsaver references` output), the decoded reasoning is also scored
  against the verified references (BLEU, ROUGE-1, METEOR, BERTScore; `reasoning.md`).
  `model_dir` may be a `t5x.train` MODEL_DIR or checkpoint (see `load_model`).
  """
  choice = parse_decode(decode)
  config, params, step = load_model(model_dir, step, model_config, gin_search_paths)
  params = jax.device_put(params)
  fingerprint = model_fingerprint(model_dir, step)
  if output_dir is None:  # next to the checkpoints (beside a checkpoint_<step> dir given alone)
    base = os.path.normpath(model_dir)
    if os.path.basename(base) == f"checkpoint_{step}":
      base = os.path.dirname(base)
    # A beam evaluation never resumes (mixes with) the greedy predictions of the default dir.
    suffix = "" if choice.name == "greedy" else f"_beam{choice.beams}"
    output_dir = os.path.join(base, f"eval_{step}{suffix}")
  os.makedirs(output_dir, exist_ok=True)
  results, rows, all_preds = {}, [], []
  for task in eval_tasks(mixture_or_task_name):
    pieces = task.output_features["inputs"].vocabulary.vocab_size
    if pieces > config.vocab_size:
      raise UserFacingError(f"task {task.name}: its vocabulary has {pieces} pieces but the model "
                            f"only {config.vocab_size} embedding rows (wrong model or tasks?)")
    preds = predict_task(config, params, task, split, input_length, max_decode_length,
                         batch_size, os.path.join(output_dir, f"predictions_{task.name}.jsonl"),
                         progress, choice, (step, fingerprint))
    results[task.name] = task_metrics(task, preds, unparsed)
    rows.append((f"{label or task.name}", results[task.name]))
    all_preds += preds
  if len(rows) > 1:  # the mixture as a whole (same metrics over all its examples)
    results["all"] = overall_metrics(all_preds, unparsed)
    rows.append((f"{label or mixture_or_task_name} (all)", results["all"]))
  if references:
    report = reasoning_report(all_preds, references, scorer_config)
    results["reasoning"] = {**report.summary(), "bertscore_model": report.bertscore_model}
    with open(os.path.join(output_dir, "reasoning.md"), "w", encoding="utf-8") as f:
      f.write(report.table() + "\n")
  with open(os.path.join(output_dir, "metrics.json"), "w", encoding="utf-8") as f:
    json.dump({"model_dir": os.path.abspath(model_dir), "step": step, "model_fingerprint": fingerprint, "split": split,
               "task": mixture_or_task_name, "decode": str(choice), "metrics": results}, f, indent=2)
  with open(os.path.join(output_dir, "metrics.md"), "w", encoding="utf-8") as f:
    f.write(format_table(rows, columns=TABLE_COLUMNS) + "\n")
  return results


def overall_metrics(preds: Sequence[Prediction], unparsed: str = "exclude") -> dict:
  m = rating_metrics([p.true_rating for p in preds], [p.predicted_rating for p in preds],
                     probs=np.asarray([p.probs for p in preds]), unparsed=unparsed)
  m["n_marker_appended"] = int(sum(p.marker_appended for p in preds))
  return m


def comparison_table(metrics_files: Sequence[str], labels: Optional[Sequence[str]] = None,
                     task: str = "all") -> str:
  """Rows from several `metrics.json` (e.g. model sizes x reasoning: Table 4; samples x
  filters: Table 5), in the study's column layout."""
  from recsaver_t5x import shapes  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.jsonl import read_json_object  # pylint: disable=import-outside-toplevel
  rows = []
  for i, path in enumerate(metrics_files):
    saved = read_json_object(path)
    metrics = shapes.as_object(path, "metrics", saved.get("metrics"))
    if not metrics:
      raise InputError(path, "no metrics (an evaluation's metrics.json holds them by task)",
                       field="metrics")
    m = shapes.as_object(path, "metrics", metrics.get(task) or next(iter(metrics.values())))
    with shapes.reading(path):
      rows.append((labels[i] if labels else f"{saved['task']} @ {saved['step']}", m))
  return format_table(rows, columns=TABLE_COLUMNS)
