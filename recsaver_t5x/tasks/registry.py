"""Registering a domain's SeqIO tasks (one call) and mixtures across domains.

    add_domain("beauty", "runs/x/prepared/beauty", "runs/x/samples/beauty.jsonl",
               vocabulary="spm.model")
    add_domain("movies_tv", ...)
    add_mixtures()            # every registered domain

registers, per domain, the tasks named in `recsaver_t5x.tasks.naming`: reasoning targets for every
sample filter and every M in `ms`, rating-only targets, and the two eval tasks with metric
functions. Nothing is read until a dataset is requested (examples and samples are loaded once
per domain, on first use).

Token budget: inputs longer than TASK_FEATURE_LENGTHS['inputs'] keep their END (the new item and
the task description; the oldest history is lost first); targets longer than
TASK_FEATURE_LENGTHS['targets'] lose the end of the reasoning, never the "### Rating ###" part.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import seqio
import tensorflow as tf

from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting import variants
from recsaver_t5x.prompting.templates import DomainWording, wording_for
from recsaver_t5x.tasks import metrics, naming, rows as rows_lib, samples as samples_lib

# Flan-T5's vocabulary (what the public checkpoints were trained with). Read lazily by seqio.
FLAN_T5_SPM = "gs://t5-data/vocabs/cc_all.32000.100extra/sentencepiece.model"
DEFAULT_MS = (1, 3, 5)
SPLITS = {"train": "train", "validation": "test", "test": "test"}  # task split -> prepared split
SHUFFLE_BUFFER = 10_000


def get_vocabulary(vocabulary: Union[str, seqio.Vocabulary]) -> seqio.Vocabulary:
  if isinstance(vocabulary, seqio.Vocabulary):
    return vocabulary
  return seqio.SentencePieceVocabulary(vocabulary)


def output_features(vocabulary: Union[str, seqio.Vocabulary]) -> dict[str, seqio.Feature]:
  vocab = get_vocabulary(vocabulary)
  return {"inputs": seqio.Feature(vocab, add_eos=True, required=True),
          "targets": seqio.Feature(vocab, add_eos=True)}


# ---------------------------------------------------------------- tf.data pieces

_STRING_KEYS = ("example_id", "domain", "inputs", "targets_head", "targets_tail", "targets")
_INT_KEYS = ("true_rating", "sample_index", "teacher_rating")


def rows_to_dataset(rows: Sequence[dict]) -> tf.data.Dataset:
  """A tf.data.Dataset of the rows (string and int32 features), in row order."""
  cols = {k: tf.constant([r[k] for r in rows], dtype=tf.string, shape=[len(rows)])
          for k in _STRING_KEYS}
  cols.update({k: tf.constant([r[k] for r in rows], dtype=tf.int32, shape=[len(rows)])
               for k in _INT_KEYS})
  return tf.data.Dataset.from_tensor_slices(cols)


def tokenize(dataset: tf.data.Dataset, output_features: Mapping[str, seqio.Feature]
             ) -> tf.data.Dataset:
  """Tokenizes inputs and the two target parts; keeps the texts as *_pretokenized."""
  in_vocab = output_features["inputs"].vocabulary
  out_vocab = output_features["targets"].vocabulary

  def fn(ex):
    out = {k: v for k, v in ex.items() if k not in ("inputs", "targets", "targets_head",
                                                    "targets_tail")}
    out["inputs_pretokenized"] = ex["inputs"]
    out["targets_pretokenized"] = ex["targets"]
    # Written by t5x.infer (it keeps every *_pretokenized feature): rows join by id, not order.
    out["example_id_pretokenized"] = ex["example_id"]
    out["inputs"] = in_vocab.encode_tf(ex["inputs"])
    out["targets_head"] = out_vocab.encode_tf(ex["targets_head"])
    out["targets_tail"] = out_vocab.encode_tf(ex["targets_tail"])
    return out
  return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


def fit_to_lengths(dataset: tf.data.Dataset,
                   sequence_length: Optional[Mapping[str, int]] = None) -> tf.data.Dataset:
  """Trims to the feature lengths (room left for EOS) as described in the module docstring."""
  in_len = (sequence_length or {}).get("inputs")
  out_len = (sequence_length or {}).get("targets")

  def fn(ex):
    ex = dict(ex)
    head, tail = ex.pop("targets_head"), ex.pop("targets_tail")
    if in_len:
      ex["inputs"] = ex["inputs"][-(in_len - 1):]
    if out_len:
      room = tf.maximum(out_len - 1 - tf.size(tail), 0)
      head = head[:room]
    targets = tf.concat([head, tail], axis=0)
    if out_len:
      targets = targets[:out_len - 1]
    ex["targets"] = targets
    return ex
  return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


def _source(load_rows: Callable[[str], list], splits: Sequence[str]) -> seqio.FunctionDataSource:
  def dataset_fn(split: str, shuffle_files: bool, seed: Optional[int] = None) -> tf.data.Dataset:
    rows = load_rows(split)
    ds = rows_to_dataset(rows)
    if shuffle_files and rows:
      # A full, seeded reshuffle each epoch: deterministic for a given seed (exact resume).
      ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    return ds
  return seqio.FunctionDataSource(dataset_fn, splits=list(splits),
                                  num_input_examples=_LazyCounts(load_rows, splits))


class _LazyCounts(Mapping):
  """num_input_examples computed on first access (mixture rates need it; registration doesn't)."""

  def __init__(self, load_rows: Callable[[str], list], splits: Sequence[str]):
    self._load, self._splits = load_rows, tuple(splits)

  def __getitem__(self, split: str) -> int:
    if split not in self._splits:
      raise KeyError(split)
    return len(self._load(split))

  def __iter__(self):
    return iter(self._splits)

  def __len__(self) -> int:
    return len(self._splits)


def _preprocessors() -> list:
  return [tokenize, seqio.CacheDatasetPlaceholder(), fit_to_lengths,
          seqio.preprocessors.append_eos_after_trim]


# ---------------------------------------------------------------- registration

def _add_task(name: str, source: seqio.DataSource, features: Mapping[str, seqio.Feature],
              metric_fns: Sequence[Callable] = (),
              postprocess_fn: Callable = metrics.postprocess) -> str:
  seqio.TaskRegistry.remove(name)
  seqio.TaskRegistry.add(name, source=source, output_features=features,
                         preprocessors=_preprocessors(), postprocess_fn=postprocess_fn,
                         metric_fns=list(metric_fns), shuffle_buffer_size=SHUFFLE_BUFFER)
  return name


def add_domain(name: str, prepared_dir: str,
               samples_store: samples_lib.SamplesArg = None,
               vocabulary: Union[str, seqio.Vocabulary] = FLAN_T5_SPM, *,
               wording: Optional[Union[str, DomainWording]] = None,
               budget: variants.Budget = variants.Budget(),
               ms: Sequence[int] = DEFAULT_MS,
               filter_names: Sequence[str] = naming.FILTER_NAMES,
               teacher_model: Optional[str] = None, temperature: Optional[float] = None,
               references: Optional[Mapping[str, Sequence[str]]] = None,
               reasoning_scorer: Optional[metrics.ReasoningScorer] = None,
               exp3rt_dir: Optional[str] = None) -> list[str]:
  """Registers every task of one domain; returns their names (see `recsaver_t5x.tasks.naming`).

  Args:
    name: the domain's task-name part ('beauty', 'movies_tv', ...).
    prepared_dir: a prepared dataset directory (train.jsonl, test.jsonl, manifest.json).
    samples_store: the teacher's sample store (path) or TeacherSamples; None registers only the
      rating-only tasks and the eval tasks without reasoning targets.
    vocabulary: a seqio Vocabulary or a SentencePiece model path (default: Flan-T5's).
    wording: the prompt's domain wording (a DomainWording, or a preset name); default: the
      preset of `name`, falling back to that of the examples' own domain field.
    budget: the prompt's character budget (see `recsaver_t5x.prompting.variants.Budget`).
    ms: the values of M (samples per example) to register reasoning train tasks for.
    filter_names: the sample filters to register (see `recsaver_t5x.tasks.filters`).
    teacher_model, temperature: which samples of the store to use (needed only when the store
      holds several teachers or temperatures).
    references, reasoning_scorer: verified references by example id and a scorer
      `(candidates, references) -> {metric: value}`; when both are given, the reasoning eval
      task also reports reasoning metrics.
    exp3rt_dir: the domain's EXP3RT directory (`recsaver preferences`, `profiles`,
      `exp3rt-rationales`); registers its three task families and mixture (`recsaver_t5x.tasks.exp3rt`).
  """
  naming.check_domain(name)
  if not os.path.isdir(prepared_dir):
    raise UserFacingError(f"{prepared_dir}: no such prepared dataset directory")
  if isinstance(wording, str):
    wording = wording_for(wording)
  elif wording is None:
    try:
      wording = wording_for(name)
    except UserFacingError:
      wording = None  # resolved per example from its domain field (raises if unknown)
  options = rows_lib.PromptOptions(wording=wording, budget=budget)
  features = output_features(vocabulary)

  @functools.lru_cache(maxsize=None)
  def examples(split: str):
    return tuple(data_io.read_split(prepared_dir, SPLITS[split]))

  @functools.lru_cache(maxsize=None)
  def samples():
    return rows_lib.group_samples(samples_lib.load_samples(
        samples_store, model=teacher_model, temperature=temperature))

  @functools.lru_cache(maxsize=None)
  def reason_rows(split: str, filter_name: str, m: int):
    if split == "train":
      return rows_lib.reasoning_train_rows(examples(split), samples(), filter_name, m, options)
    return rows_lib.reasoning_eval_rows(examples(split), samples(), options)

  @functools.lru_cache(maxsize=None)
  def rating_rows(split: str):
    return rows_lib.rating_rows(examples(split), options)

  splits = tuple(SPLITS)
  names = []
  if samples_store is not None:
    for filter_name in filter_names:
      for m in ms:
        names.append(_add_task(
            naming.train_task_name(name, "reason", filter_name, m),
            _source(functools.partial(_reason_split, reason_rows, filter_name, int(m)), splits),
            features))
  names.append(_add_task(naming.train_task_name(name, "rating"), _source(rating_rows, splits),
                         features))
  eval_fns = [metrics.rating_text_metrics, metrics.rating_prob_metrics]
  reason_eval_fns = list(eval_fns)
  if references is not None and reasoning_scorer is not None:
    reason_eval_fns.append(metrics.reasoning_metric_fn(references, reasoning_scorer))
  eval_splits = ("validation", "test")
  names.append(_add_task(
      naming.eval_task_name(name, "reason"),
      _source(lambda split: reason_rows(split, "all", 1), eval_splits), features,
      reason_eval_fns))
  names.append(_add_task(naming.eval_task_name(name, "rating"),
                         _source(rating_rows, eval_splits), features, eval_fns))
  if exp3rt_dir is not None:
    from recsaver_t5x.tasks import exp3rt  # pylint: disable=import-outside-toplevel
    names += exp3rt.add_tasks(name, exp3rt_dir, _add_task, _source, features)
  return names


def _reason_split(reason_rows, filter_name: str, m: int, split: str):
  return reason_rows(split, filter_name, m)


def registered_domains() -> list[str]:
  """Domains that have recsaver tasks in the seqio registry."""
  found = set()
  for task_name in seqio.TaskRegistry.names():
    if task_name.startswith(naming.PREFIX + "_") and not task_name.startswith(
        naming.PREFIX + "_mix_"):
      try:
        found.add(naming.parse_task_name(task_name)["domain"])
      except UserFacingError:
        continue
  return sorted(found)


def add_mixtures(domains: Optional[Sequence[str]] = None, ms: Sequence[int] = DEFAULT_MS,
                 filter_names: Sequence[str] = naming.FILTER_NAMES) -> list[str]:
  """Mixtures over `domains` (default: all registered), rate proportional to task size."""
  domains = list(domains) if domains is not None else registered_domains()
  if not domains:
    raise UserFacingError("no domains registered: call recsaver_t5x.tasks.add_domain first")
  registered = set(seqio.TaskRegistry.names())
  rate = functools.partial(seqio.mixing_rate_num_examples, maximum=None)
  names = []

  def add(mix_name: str, task_names: list[str], rate_fn: Any) -> None:
    present = [t for t in task_names if t in registered]
    if len(present) != len(task_names):
      return  # e.g. a domain without teacher samples has no reasoning train tasks
    seqio.MixtureRegistry.remove(mix_name)
    seqio.MixtureRegistry.add(mix_name, present, default_rate=rate_fn)
    names.append(mix_name)

  for filter_name in filter_names:
    for m in ms:
      add(naming.mixture_name("reason", filter_name, m),
          [naming.train_task_name(d, "reason", filter_name, m) for d in domains], rate)
  add(naming.mixture_name("rating"), [naming.train_task_name(d, "rating") for d in domains], rate)
  for targets in naming.TARGETS:
    # Eval mixtures: every domain weighted equally; evaluation iterates each task anyway.
    add(naming.mixture_name(targets, eval_=True),
        [naming.eval_task_name(d, targets) for d in domains], 1.0)
  from recsaver_t5x.tasks import exp3rt  # pylint: disable=import-outside-toplevel
  return names + exp3rt.add_mixture(domains)
