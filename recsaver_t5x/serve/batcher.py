"""Dynamic batching: concurrent requests share decoder batches.

Requests (jobs of one or more rows: prompts x n) wait in a bounded queue; one worker thread
owns the engine. Each time it is free it takes every queued row with the same decoding spec as
the oldest waiting row, up to the largest batch bucket (optionally waiting `max_wait_s` for more
to arrive), runs as many as fill a batch bucket exactly (no padding rows under load), and resolves each job when all its rows are done. Nothing
waits when the server is idle, and under load batches fill up by themselves while the previous
batch runs. A full queue is refused at once (`QueueFull`, HTTP 429); `close` finishes every
accepted job before the thread exits (graceful shutdown).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import queue
import threading
import time
from typing import Any, Optional, Sequence

from recsaver_t5x.serve.engine import Row, RowResult


class QueueFull(Exception):
  """The request queue is at its bound; the client should retry later."""


class ShuttingDown(Exception):
  """The server is stopping and accepts no new work."""


@dataclasses.dataclass
class _Job:
  rows: Sequence[Row]
  future: concurrent.futures.Future
  results: list
  left: int
  enqueued: float


_STOP = object()


class Batcher:
  """Use `submit(rows)` from any thread; await `asyncio.wrap_future` of the returned future."""

  def __init__(self, engine: Any, max_queue: int = 256, max_wait_s: float = 0.0):
    self.engine = engine
    self.max_batch = engine.buckets.max_batch
    self.max_wait_s = max_wait_s
    self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
    self._pending: list[tuple[_Job, int]] = []  # (job, row index), oldest first
    self._closed = False
    self._lock = threading.Lock()
    self.batch_sizes: dict[int, int] = {}
    self._thread = threading.Thread(target=self._loop, name="recsaver-batcher", daemon=True)
    self._thread.start()

  @property
  def queued(self) -> int:
    return self._queue.qsize()

  def submit(self, rows: Sequence[Row]) -> concurrent.futures.Future:
    """Queues a job; its future resolves to one `RowResult` per row, in order."""
    fut: concurrent.futures.Future = concurrent.futures.Future()
    job = _Job(list(rows), fut, [None] * len(rows), len(rows), time.perf_counter())
    with self._lock:
      if self._closed:
        raise ShuttingDown()
      try:
        self._queue.put_nowait(job)
      except queue.Full:
        raise QueueFull() from None
    return fut

  def close(self, timeout: Optional[float] = None) -> None:
    """Stops accepting jobs, finishes the accepted ones, then stops the worker."""
    with self._lock:
      if self._closed:
        return
      self._closed = True
    self._queue.put(_STOP)  # blocks only while the queue is full of accepted jobs
    self._thread.join(timeout)

  # ---- worker
  def _take(self, block: bool, timeout: Optional[float] = None) -> bool:
    """Moves one queued job's rows into `_pending`; False on empty queue or stop."""
    try:
      job = self._queue.get(block=block, timeout=timeout)
    except queue.Empty:
      return False
    if job is _STOP:
      self._stopping = True
      return False
    self._pending.extend((job, i) for i in range(len(job.rows)))
    return True

  def _loop(self) -> None:
    self._stopping = False
    while True:
      if not self._pending:
        if self._stopping or not self._take(block=True):
          if self._stopping:
            return
          continue
      while not self._stopping and self._take(block=False):  # everything queued right now
        pass
      spec = self._pending[0][0].rows[self._pending[0][1]].spec
      if self.max_wait_s > 0 and not self._stopping:
        deadline = time.perf_counter() + self.max_wait_s
        while (sum(1 for j, i in self._pending if j.rows[i].spec == spec) < self.max_batch
               and not self._stopping):
          left = deadline - time.perf_counter()
          if left <= 0 or not self._take(block=True, timeout=left):
            break
      same = [p for p in self._pending if p[0].rows[p[1]].spec == spec]
      batch = same[:self._batch_size(len(same))]
      taken = {id(p) for p in batch}
      self._pending = [p for p in self._pending if id(p) not in taken]
      self._run(batch)

  def _batch_size(self, n: int) -> int:
    """The largest batch bucket that `n` waiting rows fill completely: padding rows cost as much
    as real ones, so 21 waiting rows run as 16 now and 5 join the next batch."""
    fitting = [b for b in self.engine.buckets.batch if b <= n]
    return fitting[-1] if fitting else n

  def _run(self, batch: list[tuple[_Job, int]]) -> None:
    self.batch_sizes[len(batch)] = self.batch_sizes.get(len(batch), 0) + 1
    try:
      results: list[RowResult] = self.engine.run([job.rows[i] for job, i in batch])
    except Exception as e:  # pylint: disable=broad-except
      for job, _ in batch:  # the request fails (HTTP 500); the server keeps serving
        if not job.future.done():
          job.future.set_exception(e)
      return
    for (job, i), res in zip(batch, results):
      if job.future.done():
        continue
      job.results[i] = res
      job.left -= 1
      if job.left == 0:
        job.future.set_result(job.results)
