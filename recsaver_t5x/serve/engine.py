"""Runs one padded batch of decode rows on the jitted decoder: tokens, rating distribution and,
when asked, per-token log-probabilities.

Shapes come from a small set of buckets (batch size, input length, decode length), so the
jitted functions of `recsaver_t5x.model.decoding` and `rating_probs` compile once per bucket and
never per request. `warmup` compiles every bucket up front; `compile_count` counts XLA backend
compilations in this process (JAX's own monitoring event), which is how the tests check that
serving does not recompile.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import threading
from typing import Optional, Sequence

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import decoding
from recsaver_t5x.model.network import Transformer
from recsaver_t5x.model.rating_probs import rating_distribution, rating_token_ids
from recsaver_t5x.model.vocab import EOS_ID
from recsaver_t5x.scale import DEFAULT_SCALE, RatingScale
from recsaver_t5x.serve.student import Student

TOP_LOGPROBS = 20  # OpenAI's maximum `top_logprobs`; computed once, sliced per request
MIN_TEMPERATURE = 1e-4  # below this decoding is greedy (T5X's MIN_TEMPERATURE)


# ------------------------------------------------------------------------- compile counting
class CompileCounter:
  """Counts XLA backend compilations of this process from JAX's monitoring events."""

  def __init__(self):
    self._n = 0
    self._lock = threading.Lock()
    jax.monitoring.register_event_duration_secs_listener(self._on_event)

  def _on_event(self, event: str, *_args, **_kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
      with self._lock:
        self._n += 1

  @property
  def count(self) -> int:
    return self._n


# ------------------------------------------------------------------------- buckets
def _powers_of_two(low: int, high: int) -> tuple[int, ...]:
  out, v = [], low
  while v < high:
    out.append(v)
    v *= 2
  return tuple(out) + (high,)


@dataclasses.dataclass(frozen=True)
class Buckets:
  """Allowed batch sizes, input lengths and decode lengths (each ascending; the last is the max)."""

  batch: tuple[int, ...]
  inputs: tuple[int, ...]
  decode: tuple[int, ...]

  def __post_init__(self):
    for name in ("batch", "inputs", "decode"):
      v = tuple(sorted({int(x) for x in getattr(self, name)}))
      if not v or v[0] < 1:
        raise ValueError(f"{name} buckets must be positive integers, got {getattr(self, name)}")
      object.__setattr__(self, name, v)

  @classmethod
  def default(cls, max_batch: int, max_input_length: int, max_decode_length: int) -> "Buckets":
    return cls(_powers_of_two(1, max_batch), _powers_of_two(min(64, max_input_length),
                                                            max_input_length),
               _powers_of_two(min(32, max_decode_length), max_decode_length))

  @property
  def max_batch(self) -> int:
    return self.batch[-1]

  @property
  def max_input_length(self) -> int:
    return self.inputs[-1]

  @property
  def max_decode_length(self) -> int:
    return self.decode[-1]

  @staticmethod
  def pick(sizes: Sequence[int], n: int) -> int:
    """The smallest bucket >= n (n must fit the largest)."""
    for s in sizes:
      if s >= n:
        return s
    raise ValueError(f"{n} exceeds the largest bucket {sizes[-1]}")


# ------------------------------------------------------------------------- rows and results
@dataclasses.dataclass(frozen=True)
class DecodeSpec:
  """How a row is decoded; only rows with equal specs share a batch (temperature is traced, so
  a new temperature does not compile; a new top_k does, once)."""

  temperature: float = 0.0
  top_k: int = 0

  @property
  def greedy(self) -> bool:
    return self.temperature < MIN_TEMPERATURE


@dataclasses.dataclass(frozen=True)
class Row:
  """One sequence to decode."""

  input_ids: tuple[int, ...]   # already truncated, ends with EOS
  max_tokens: int
  spec: DecodeSpec = DecodeSpec()
  logprobs: bool = False
  seed: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class RowResult:
  """A decoded row. `tokens` excludes EOS and stops at `max_tokens`."""

  tokens: tuple[int, ...]
  finished: bool                    # EOS within max_tokens
  rating_probs: Optional[tuple[float, ...]]   # over the scale's values (None: no extension)
  marker_appended: Optional[bool]
  token_logprobs: Optional[tuple[float, ...]] = None
  top_logprobs: Optional[tuple[tuple[tuple[int, float], ...], ...]] = None


@functools.lru_cache(maxsize=8)
def _token_logprobs_fn(config, k: int, n_pieces: int):
  """Teacher-forced pass over decoded tokens: log p(token_t) and the top-k (id, log p) per step.

  Embedding rows past the vocabulary's `n_pieces` (padding to a multiple of 128) keep their
  probability mass in the normalisation but are never listed: they have no text.
  """
  model = Transformer(config)

  def run(params, encoder_input_tokens, encoded, targets):
    inputs = jnp.pad(targets[:, :-1], ((0, 0), (1, 0)))
    logits = model.apply({"params": params}, encoded, encoder_input_tokens, inputs, targets,
                         enable_dropout=False, method=Transformer.decode)
    lp = jax.nn.log_softmax(logits.astype(jnp.float32))
    token = jnp.take_along_axis(lp, targets[..., None], axis=-1)[..., 0]
    listed = jnp.where(jnp.arange(lp.shape[-1]) < n_pieces, lp, -jnp.inf)
    top_lp, top_ids = lax.top_k(listed, k)
    return token, top_lp, top_ids

  return jax.jit(run)


class Engine:
  """Decodes batches of `Row`s for one student (call from one thread at a time)."""

  def __init__(self, student: Student, buckets: Buckets, scale: RatingScale = DEFAULT_SCALE):
    self.student = student
    self.buckets = buckets
    self.scale = scale
    self.model = Transformer(student.config)
    self.params = jax.device_put(student.params)
    # A vocabulary that cannot spell the rating marker and digits (a generic T5) is served
    # without the rating extension.
    self.rating_unavailable: Optional[str] = None
    try:
      self.rating_tokens = rating_token_ids(student.vocab,
                                            digits=tuple(str(v) for v in scale.values))
    except UserFacingError as e:
      self.rating_tokens, self.rating_unavailable = None, str(e)
    self._n_pieces = int(student.vocab.tokenizer.get_piece_size())
    self._top_k = min(TOP_LOGPROBS, self._n_pieces)
    self._batches = 0
    self.compile_counter = CompileCounter()
    self.stats = {"batches": 0, "rows": 0, "padded_rows": 0}

  # ---- prompts
  def encode_prompt(self, text: str) -> tuple[tuple[int, ...], bool]:
    """Token ids of a prompt as the student's tasks build inputs: when too long, keep the END
    (the new item and the task), then EOS. Returns (ids, truncated)."""
    ids = [int(i) for i in self.student.vocab.encode(text)]
    keep = self.buckets.max_input_length - 1
    truncated = len(ids) > keep
    return tuple(ids[-keep:] if truncated else ids) + (EOS_ID,), truncated

  def decode_text(self, tokens: Sequence[int]) -> str:
    return self.student.vocab.decode([int(t) for t in tokens])

  # ---- batches
  def run(self, rows: Sequence[Row]) -> list[RowResult]:
    """Decodes up to `buckets.max_batch` rows that share one `DecodeSpec`."""
    if not rows:
      return []
    spec = rows[0].spec
    if any(r.spec != spec for r in rows):
      raise ValueError("rows of one batch must share their DecodeSpec")
    b = Buckets.pick(self.buckets.batch, len(rows))
    lin = Buckets.pick(self.buckets.inputs, max(len(r.input_ids) for r in rows))
    ldec = Buckets.pick(self.buckets.decode, max(r.max_tokens for r in rows))
    enc = np.zeros((b, lin), np.int32)
    for i in range(b):  # padding rows repeat row 0 (an all-pad row is a degenerate input)
      ids = rows[i].input_ids if i < len(rows) else rows[0].input_ids
      enc[i, :len(ids)] = ids
    enc_j = jnp.asarray(enc)
    encoded = decoding.encode(self.model, self.params, enc_j)
    if spec.greedy:
      out, _ = decoding.greedy_decode(self.model, self.params, enc_j, ldec, encoded=encoded)
    else:
      out, _ = decoding.temperature_sample(self.model, self.params, enc_j, ldec,
                                           self._rng(rows), spec.temperature, spec.top_k,
                                           encoded=encoded)
    out = np.array(out)
    for i in range(b):  # cut each row at its own max_tokens, T5X-style zeros after
      limit = rows[i].max_tokens if i < len(rows) else ldec
      out[i, limit:] = 0
    dist = None
    if self.rating_tokens is not None:
      dist = rating_distribution(self.model, self.params, enc_j, out, tokens=self.rating_tokens,
                                 encoded=encoded)
    token_lp = top_lp = top_ids = None
    if any(r.logprobs for r in rows):
      token_lp, top_lp, top_ids = (np.asarray(x) for x in _token_logprobs_fn(
          self.student.config, self._top_k, self._n_pieces)(self.params, enc_j, encoded, jnp.asarray(out)))
    self.stats["batches"] += 1
    self.stats["rows"] += len(rows)
    self.stats["padded_rows"] += b - len(rows)
    return [self._result(i, r, out[i], dist, token_lp, top_lp, top_ids) for i, r in enumerate(rows)]

  def _rng(self, rows: Sequence[Row]) -> jax.Array:
    # A request batched alone with a seed is reproducible; otherwise rows draw from one key per
    # batch (the decoder samples a whole batch from one key).
    self._batches += 1
    seeds = {r.seed for r in rows}
    if len(rows) == 1 and rows[0].seed is not None:
      return jax.random.PRNGKey(rows[0].seed)
    return jax.random.PRNGKey(hash((self._batches, tuple(sorted(s or 0 for s in seeds)))) & 0x7FFFFFFF)

  def _result(self, i: int, row: Row, decoded: np.ndarray, dist, token_lp, top_lp,
              top_ids) -> RowResult:
    seq = decoded[:row.max_tokens].tolist()
    finished = EOS_ID in seq
    n = seq.index(EOS_ID) if finished else len(seq)
    lps = tops = None
    if row.logprobs and token_lp is not None:
      lps = tuple(float(x) for x in token_lp[i, :n])
      tops = tuple(tuple((int(t), float(l)) for t, l in zip(top_ids[i, j], top_lp[i, j]))
                   for j in range(n))
    probs = tuple(float(p) for p in dist.probs[i]) if dist is not None else None
    appended = bool(dist.marker_appended[i]) if dist is not None else None
    return RowResult(tuple(int(t) for t in seq[:n]), finished, probs, appended, lps, tops)

  # ---- warm-up
  def warmup(self, sampled: bool = True, logprobs: bool = True) -> int:
    """Compiles every bucket (greedy, sampled at top_k 0, with/without logprobs); returns the
    number of shapes run."""
    n = 0
    specs = [DecodeSpec()] + ([DecodeSpec(temperature=1.0)] if sampled else [])
    for b, lin, ldec in itertools.product(self.buckets.batch, self.buckets.inputs,
                                          self.buckets.decode):
      ids = tuple([3] * (lin - 1)) + (EOS_ID,)
      for spec in specs:
        self.run([Row(ids, ldec, spec, logprobs=logprobs and spec.greedy)] * b)
        n += 1
    for k in self.stats:
      self.stats[k] = 0
    return n
