"""Append-only, crash-safe JSONL store of teacher samples: what makes sampling resumable.

Each sample is one JSON line keyed by (example_id, variant, model, temperature, sample_index).
- Append-only and kill -9 safe: a record is one `write` of a whole line on an O_APPEND file
  descriptor followed by `fsync`, so a crash leaves at most one torn last line (no newline, or
  unreadable). Opening the store repairs that line (truncates it away; that sample is redone).
- Idempotent: `put` of a key that is already stored does nothing; reruns skip finished work.
- One writer at a time (an exclusive `flock` on `<path>.lock`); readers need no lock.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
from typing import Any, Iterable, Iterator, Optional

from recsaver_t5x.errors import InputError, UserFacingError


@dataclasses.dataclass(frozen=True, order=True)
class SampleKey:
  """Identity of one sample. Temperature is stored as given (a float)."""

  example_id: str
  variant: str
  model: str
  temperature: float
  sample_index: int

  def to_list(self) -> list:
    return [self.example_id, self.variant, self.model, float(self.temperature), int(self.sample_index)]

  @classmethod
  def from_list(cls, v: list) -> "SampleKey":
    return cls(str(v[0]), str(v[1]), str(v[2]), float(v[3]), int(v[4]))


@dataclasses.dataclass(frozen=True)
class Sample:
  """One stored teacher answer and how it was obtained.

  `extra` holds stage-specific fields (prompt truncation, one-shot demonstration id, the
  Rec-SAVER step...); it must be JSON-serialisable.
  """

  key: SampleKey
  text: str
  seed: Optional[int] = None
  prompt_sha256: Optional[str] = None
  finish_reason: Optional[str] = None
  prompt_tokens: Optional[int] = None
  completion_tokens: Optional[int] = None
  logprobs: Optional[list] = None
  latency_s: Optional[float] = None
  server_model: Optional[str] = None
  created_unix: float = 0.0
  extra: dict = dataclasses.field(default_factory=dict)

  def to_json(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["key"] = self.key.to_list()
    return d

  @classmethod
  def from_json(cls, d: dict[str, Any]) -> "Sample":
    fields = {f.name for f in dataclasses.fields(cls)}
    kw = {k: v for k, v in d.items() if k in fields}
    kw["key"] = SampleKey.from_list(d["key"])
    return cls(**kw)


def _encode(sample: Sample) -> bytes:
  return (json.dumps(sample.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class SampleStore:
  """A sample store file. Use as a context manager; `readonly=True` for readers.

  Attributes:
    repaired_bytes: bytes of a torn last line removed when the store was opened.
    duplicates: records whose key was already stored (the first one wins); 0 unless the file
      was written outside this class.
  """

  def __init__(self, path: str, readonly: bool = False):
    self.path = path
    self.readonly = readonly
    self.repaired_bytes = 0
    self.duplicates = 0
    self._index: dict[SampleKey, Sample] = {}
    self._fd: Optional[int] = None
    self._lock_fd: Optional[int] = None
    if readonly:
      if not os.path.exists(path):
        raise UserFacingError(f"{path}: no such sample store")
      self._load(repair=False)
      return
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    self._lock_fd = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
      fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      os.close(self._lock_fd)
      self._lock_fd = None
      raise UserFacingError(f"{path}: another process is writing this sample store") from None
    created = not os.path.exists(path)
    self._fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    if created:  # make the new directory entry durable too
      dfd = os.open(parent, os.O_RDONLY)
      try:
        os.fsync(dfd)
      finally:
        os.close(dfd)
    try:
      self._load(repair=True)
    except BaseException:
      self.close()  # an unreadable store must not keep its lock (a retry would find it taken)
      raise

  def _load(self, repair: bool) -> None:
    with open(self.path, "rb") as f:
      data = f.read()
    good_end = 0
    pos = 0
    line_no = 0
    while pos < len(data):
      nl = data.find(b"\n", pos)
      end = len(data) if nl < 0 else nl + 1
      line_no += 1
      raw = data[pos:end]
      is_last = end == len(data)
      try:
        if nl < 0:
          raise ValueError("no newline: torn write")
        sample = Sample.from_json(json.loads(raw))
      except (ValueError, KeyError, TypeError, IndexError) as e:
        # The one write a crash can tear is the last. A file whose only line is a whole line
        # (newline-terminated) but no sample is not a store (e.g. examples given as --store):
        # it is refused, never truncated.
        if is_last and (good_end > 0 or nl < 0):
          break
        raise InputError(self.path, f"unreadable sample record ({e}); the store was modified "
                         "outside recsaver", line=line_no) from None
      if sample.key in self._index:
        self.duplicates += 1
      else:
        self._index[sample.key] = sample
      good_end = end
      pos = end
    if good_end < len(data):
      self.repaired_bytes = len(data) - good_end
      if repair:
        os.truncate(self.path, good_end)
        os.fsync(self._fd)

  def __enter__(self) -> "SampleStore":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def close(self) -> None:
    if self._fd is not None:
      os.close(self._fd)
      self._fd = None
    if self._lock_fd is not None:
      fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
      os.close(self._lock_fd)
      self._lock_fd = None

  def __len__(self) -> int:
    return len(self._index)

  def __contains__(self, key: SampleKey) -> bool:
    return key in self._index

  def get(self, key: SampleKey) -> Optional[Sample]:
    return self._index.get(key)

  def samples(self) -> Iterator[Sample]:
    """Stored samples in the order they were written."""
    return iter(self._index.values())

  def select(self, variant: Optional[str] = None, model: Optional[str] = None,
             temperature: Optional[float] = None) -> list[Sample]:
    return [s for s in self._index.values()
            if (variant is None or s.key.variant == variant)
            and (model is None or s.key.model == model)
            and (temperature is None or s.key.temperature == float(temperature))]

  def missing(self, keys: Iterable[SampleKey]) -> list[SampleKey]:
    return [k for k in keys if k not in self._index]

  def put(self, sample: Sample) -> bool:
    """Append `sample` durably; False (nothing written) when its key is already stored."""
    return self.put_many([sample]) == 1

  def put_many(self, samples: Iterable[Sample]) -> int:
    """Append the samples whose keys are new in one write + fsync; returns how many."""
    if self._fd is None:
      raise UserFacingError(f"{self.path}: sample store is not open for writing")
    new: list[Sample] = []
    seen = set()
    for s in samples:
      if s.key in self._index or s.key in seen:
        continue
      if not s.created_unix:
        s = dataclasses.replace(s, created_unix=time.time())
      seen.add(s.key)
      new.append(s)
    if not new:
      return 0
    buf = b"".join(_encode(s) for s in new)
    view = memoryview(buf)
    while view:  # regular files write whole buffers; loop in case one does not
      n = os.write(self._fd, view)
      view = view[n:]
    os.fsync(self._fd)
    for s in new:
      self._index[s.key] = s
    return len(new)
