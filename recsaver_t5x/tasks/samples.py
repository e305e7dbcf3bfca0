"""Teacher samples for task building, read from the teacher's sample store.

The store (`recsaver_t5x.teacher.store.SampleStore`) keys samples by (example id, prompt variant,
model, temperature, sample index). Task building needs one (variant, model, temperature)
population; when the store holds several and none is chosen, that is an error naming them.
Ratings are parsed with the teacher module's parser; the reasoning is its explanation section.
"""
from __future__ import annotations

from typing import Iterable, Optional, Union

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.tasks.filters import TeacherSample
from recsaver_t5x.targets import extract_reasoning

SamplesArg = Union[None, str, Iterable[TeacherSample]]


def teacher_sample(example_id: str, sample_index: int, text: str) -> TeacherSample:
  """A TeacherSample from a raw teacher answer."""
  parsed = parse_answer(text)
  reasoning = parsed.explanation if parsed.explanation is not None else extract_reasoning(text or "")
  return TeacherSample(example_id, int(sample_index), reasoning or "", parsed.rating)


def load_samples(samples_store: SamplesArg, variant: str = "reasoning",
                 model: Optional[str] = None,
                 temperature: Optional[float] = None) -> list[TeacherSample]:
  """TeacherSamples from a store path, or the given samples unchanged (None -> none)."""
  if samples_store is None:
    return []
  if not isinstance(samples_store, str):
    return list(samples_store)
  from recsaver_t5x.teacher.store import SampleStore  # pylint: disable=import-outside-toplevel
  store = SampleStore(samples_store, readonly=True)
  chosen = store.select(variant=variant, model=model, temperature=temperature)
  populations = sorted({(s.key.model, s.key.temperature) for s in chosen})
  if len(populations) > 1:
    listed = ", ".join(f"model={m!r} temperature={t}" for m, t in populations)
    raise UserFacingError(f"{samples_store}: samples of several teachers for variant "
                          f"'{variant}' ({listed}); choose one with teacher_model/temperature")
  return [teacher_sample(s.key.example_id, s.key.sample_index, s.text) for s in chosen]
