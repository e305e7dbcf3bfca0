"""EXP3RT's three SeqIO task families per domain, and their mixtures.

Registered by `recsaver_t5x.tasks.add_domain(..., exp3rt_dir=DIR)` (DIR: the domain's `recsaver
preferences/profiles/exp3rt-rationales` directory):

  recsaver_{domain}_exp3rt_extract      review (+ item title) -> [Like]/[Dislike] preferences
  recsaver_{domain}_exp3rt_profile      extracted preferences -> user or item profile bullets
  recsaver_{domain}_exp3rt_predict      profiles + item description -> rationale, then rating
  recsaver_{domain}_exp3rt_predict_eval the test split (teacher profiles), rating metrics
  recsaver_{domain}_exp3rt              mixture of the three train tasks (rate: task size)
  recsaver_mix_exp3rt                   the three train tasks of every domain

Splits: "train" holds rows of training examples (and of the reviews their profiles use);
"validation"/"test" those of test examples. Training rationales are filtered as the directory's
config says (`verified` by default: leakage filter + self-verification; see exp3rt.rationales).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping, Optional, Sequence

import seqio

from recsaver_t5x.data import io as data_io
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.exp3rt import prompts, rationales, readout, workdir
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.scale import RatingScale
from recsaver_t5x.tasks import naming, rows as rows_lib

FAMILIES = ("extract", "profile", "predict")
TASK_SPLITS = {"train": "train", "validation": "test", "test": "test"}


def task_name(domain: str, family: str, eval_: bool = False) -> str:
  naming.check_domain(domain)
  if family not in FAMILIES:
    raise UserFacingError(f"unknown EXP3RT task family '{family}'; choose from {FAMILIES}")
  return f"{naming.PREFIX}_{domain}_exp3rt_{family}" + ("_eval" if eval_ else "")


def domain_mixture_name(domain: str) -> str:
  return f"{naming.PREFIX}_{naming.check_domain(domain)}_exp3rt"


MIXTURE = f"{naming.PREFIX}_mix_exp3rt"


def _row(example_id: str, domain: str, inputs: str, head: str, tail: str, rating: int) -> dict:
  return {"example_id": example_id, "domain": domain, "inputs": inputs, "targets_head": head,
          "targets_tail": tail, "targets": head + tail, "true_rating": int(rating),
          "sample_index": 0, "teacher_rating": -1}


class DomainRows:
  """Rows of one domain's EXP3RT directory, read once on first use."""

  def __init__(self, out_dir: str, domain: str, filter_name: Optional[str] = None):
    self.out_dir, self.domain = out_dir, domain
    self.cfg = workdir.read_config(out_dir)
    self.scale = RatingScale.from_dict(self.cfg["scale"])
    self.filter_name = filter_name or self.cfg.get("rationale", {}).get("filter", "verified")
    if self.filter_name not in rationales.FILTERS:
      raise UserFacingError(f"unknown rationale filter '{self.filter_name}'; "
                            f"choose from {rationales.FILTERS}")

  @functools.cached_property
  def profiles(self) -> list[dict]:
    return list(workdir.read_jsonl(workdir.path(self.out_dir, workdir.PROFILES), "profiles"))

  @functools.cached_property
  def items(self) -> dict:
    prepared = self.cfg["prepared"]
    return {ex.target.asin: ex.target for s in ("train", "test")
            for ex in data_io.read_split(prepared, s)}

  def _profiles(self, split: str) -> list[dict]:
    return [p for p in self.profiles if p["split"] == TASK_SPLITS[split]]

  def extract(self, split: str) -> list[dict]:
    prefs = {d["review_id"]: d for d in workdir.read_jsonl(
        workdir.path(self.out_dir, workdir.PREFERENCES), "preferences")}
    seen, out = set(), []
    for p in self._profiles(split):
      for rid in p["user_review_ids"] + p["item_review_ids"]:
        d = prefs.get(rid)
        if d is None or rid in seen or not d["parsed"]:
          continue
        seen.add(rid)
        out.append(_row(rid, self.domain, d["prompt"], d["preferences"], "", d["rating"]))
    return out

  def profile(self, split: str) -> list[dict]:
    out = []
    for p in self._profiles(split):
      for kind in ("user", "item"):
        if p[f"{kind}_prompt"] is not None:
          out.append(_row(f"{p['example_id']}#{kind}", self.domain, p[f"{kind}_prompt"],
                          p[f"{kind}_profile"], "", -1))
    return out

  def predict_inputs(self, p: Mapping[str, Any]) -> str:
    wording = prompts.domain_wording(self.cfg["domain"])
    budget = prompts.PromptBudget(**self.cfg["budget"])
    return prompts.rating_prompt(rationales.inputs(p, self.items[p["asin"]], wording, budget,
                                                   self.scale), wording, self.scale)

  def predict(self, split: str) -> list[dict]:
    """Train: one row per example whose rationale passed the filter; eval: every example."""
    rats = {}
    if split == "train":
      rats = {r["example_id"]: r for r in workdir.read_jsonl(
          workdir.path(self.out_dir, workdir.RATIONALES), "exp3rt-rationales")}
    out = []
    for p in self._profiles(split):
      reasoning = None
      if split == "train":
        rec = rats.get(p["example_id"])
        reasoning = rationales.target_reasoning(rec, self.filter_name) if rec else None
        if reasoning is None:
          continue
      head, tail = rows_lib.split_target(reasoning, p["true_rating"])
      out.append(_row(p["example_id"], self.domain, self.predict_inputs(p), head, tail,
                      p["true_rating"]))
    return out


def postprocess_fn(scale: RatingScale):
  """seqio postprocess: the rating parsed on the domain's scale; targets: the true rating."""
  def postprocess(output: Any, example: Optional[Mapping[str, Any]] = None,
                  is_target: bool = False) -> dict:
    from recsaver_t5x.tasks import metrics  # pylint: disable=import-outside-toplevel
    if is_target:
      return metrics.postprocess(output, example, is_target=True)
    text = output.decode("utf-8") if isinstance(output, bytes) else str(output)
    return {"text": text, "predicted_rating": parse_answer(text, scale).rating}
  return postprocess


def text_metric_fn(scale: RatingScale):
  """Parsed-rating RMSE/MAE on the domain's scale; unparsed answers counted, scored at the
  scale's midpoint (every example counts)."""
  def exp3rt_text_metrics(targets: Sequence[dict], predictions: Sequence[dict]) -> dict:
    r = readout.errors([t["true_rating"] for t in targets], [p["predicted_rating"] for p in predictions],
                       scale)
    return {"rmse": r["rmse"], "mae": r["mae"], "n": r["n"], "n_unparsed": r["n_missing"]}
  return exp3rt_text_metrics


def add_tasks(domain: str, out_dir: str, add_task, source_fn, features,
              filter_name: Optional[str] = None) -> list[str]:
  """Registers the domain's EXP3RT tasks with the registry's own helpers; returns the names."""
  rows = DomainRows(out_dir, domain, filter_name)
  splits = tuple(TASK_SPLITS)
  names = [add_task(task_name(domain, f), source_fn(getattr(rows, f), splits), features)
           for f in FAMILIES]
  eval_name = add_task(task_name(domain, "predict", eval_=True),
                       source_fn(rows.predict, ("validation", "test")), features,
                       [text_metric_fn(rows.scale)], postprocess_fn(rows.scale))
  mix = domain_mixture_name(domain)
  seqio.MixtureRegistry.remove(mix)
  seqio.MixtureRegistry.add(mix, names, default_rate=functools.partial(
      seqio.mixing_rate_num_examples, maximum=None))
  return names + [eval_name, mix]


def add_mixture(domains: Sequence[str]) -> list[str]:
  """recsaver_mix_exp3rt over `domains` (those that registered EXP3RT tasks)."""
  registered = set(seqio.TaskRegistry.names())
  names = [task_name(d, f) for d in domains for f in FAMILIES]
  if not names or any(n not in registered for n in names):
    return []
  seqio.MixtureRegistry.remove(MIXTURE)
  seqio.MixtureRegistry.add(MIXTURE, names, default_rate=functools.partial(
      seqio.mixing_rate_num_examples, maximum=None))
  return [MIXTURE]
