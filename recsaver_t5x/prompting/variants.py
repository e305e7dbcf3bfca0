"""Prompt variants of the study's zero-shot ablations (Table 3), selectable by name.

- reasoning: zero-shot chain of thought (the default).
- no_reasoning: rating only, no reasoning asked for.
- no_review: past items without the user's review text.
- no_review_no_rating: past items without review text and without the user's rating.
- no_description: no item description (past and new items).
- one_shot: one solved training example (prompt + reasoned answer) before the task.

Long reviews and descriptions are truncated to a character budget, deterministically, and every
cut is recorded in the prompt's `Truncation`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Optional

from recsaver_t5x.data.records import Example, Item
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting import templates
from recsaver_t5x.prompting.templates import DomainWording, RenderOptions


@dataclasses.dataclass(frozen=True)
class Variant:
  """A named prompt variant: which inputs are shown and whether reasoning is asked for."""

  name: str
  label: str  # row label in the study's Table 3
  options: RenderOptions = RenderOptions()
  reasoning: bool = True
  one_shot: bool = False


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("reasoning", "Our Method (zero-shot CoT)"),
    Variant("no_reasoning", "- No Reasoning Outputs", reasoning=False),
    Variant("no_review", "- No Review", RenderOptions(user_review=False)),
    Variant("no_review_no_rating", "- No Review, No Rating",
            RenderOptions(user_review=False, user_rating=False)),
    Variant("no_description", "- No Item Description", RenderOptions(description=False)),
    Variant("one_shot", "One-shot", one_shot=True),
)}


def get_variant(name: str) -> Variant:
  if name not in VARIANTS:
    raise UserFacingError(f"unknown prompt variant '{name}'; choose from: {', '.join(VARIANTS)}")
  return VARIANTS[name]


def parse_variants(spec: str) -> list[Variant]:
  """'reasoning,no_review' -> variants; 'all' -> every variant in the study's order."""
  if spec.strip() == "all":
    return list(VARIANTS.values())
  return [get_variant(n.strip()) for n in spec.split(",") if n.strip()]


@dataclasses.dataclass(frozen=True)
class Budget:
  """Character budgets (characters, not tokens: they are model independent and deterministic).

  Attributes:
    max_prompt_chars: the whole rendered prompt; None means no limit.
    max_field_chars: each review and description, before the prompt budget is considered.
    min_field_chars: the field cap is lowered (x3/4 steps) to fit the prompt, but not below this.
    min_history: oldest history entries are dropped last, and never below this many.
  """

  max_prompt_chars: Optional[int] = 8000
  max_field_chars: int = 1200
  min_field_chars: int = 120
  min_history: int = 1


@dataclasses.dataclass(frozen=True)
class Truncation:
  """What was cut from a prompt to fit its budget.

  Attributes:
    field_cap: the per-field character cap that was finally applied.
    clipped: the clipped fields, e.g. "history[2].review", "target.description".
    chars_removed: characters removed from clipped fields (history entries dropped excluded).
    history_dropped: oldest history entries dropped.
    over_budget: the prompt is still longer than max_prompt_chars at the limits above.
  """

  field_cap: int
  clipped: tuple[str, ...] = ()
  chars_removed: int = 0
  history_dropped: int = 0
  over_budget: bool = False

  @property
  def truncated(self) -> bool:
    return bool(self.clipped or self.history_dropped)

  def to_dict(self) -> dict:
    return dataclasses.asdict(self)


ELLIPSIS = " [...]"


def clip_text(text: str, limit: int) -> str:
  """Cut `text` to at most `limit` characters, at a word boundary when one is close."""
  if len(text) <= limit:
    return text
  keep = max(0, limit - len(ELLIPSIS))
  cut = text[:keep]
  space = cut.rfind(" ")
  if space >= keep * 4 // 5:  # prefer a word boundary within the last 20%
    cut = cut[:space]
  return cut.rstrip() + ELLIPSIS


def _clip_item(item: Item, cap: int, where: str, clipped: list, removed: list[int]) -> Item:
  if item.description and len(item.description) > cap:
    short = clip_text(item.description, cap)
    clipped.append(f"{where}.description")
    removed[0] += len(item.description) - len(short)
    item = dataclasses.replace(item, description=short)
  return item


def _clip_example(example: Example, cap: int, drop: int):
  clipped: list[str] = []
  removed = [0]
  history = []
  for i, h in enumerate(example.history[drop:], start=drop):
    item = _clip_item(h.item, cap, f"history[{i}]", clipped, removed)
    review = h.review
    if review and len(review) > cap:
      review = clip_text(review, cap)
      clipped.append(f"history[{i}].review")
      removed[0] += len(h.review) - len(review)
    history.append(dataclasses.replace(h, item=item, review=review))
  target = _clip_item(example.target, cap, "target", clipped, removed)
  return tuple(history), target, tuple(clipped), removed[0]


def fit_to_budget(example: Example, wording: DomainWording, options: RenderOptions, task: str,
                  budget: Budget) -> tuple[str, Truncation]:
  """Render `example` within `budget`: clip fields (lowering the cap), then drop oldest history.

  Deterministic: the same example, variant and budget always give the same prompt.
  """
  def render(cap: int, drop: int):
    history, target, clipped, removed = _clip_example(example, cap, drop)
    text = templates.render_prompt(history, target, wording, options, task)
    return text, Truncation(cap, clipped, removed, drop)

  cap = budget.max_field_chars
  text, trunc = render(cap, 0)
  limit = budget.max_prompt_chars
  if limit is None or len(text) <= limit:
    return text, trunc
  while len(text) > limit and cap > budget.min_field_chars:
    cap = max(budget.min_field_chars, cap * 3 // 4)
    text, trunc = render(cap, 0)
  drop = 0
  max_drop = max(0, len(example.history) - budget.min_history)
  while len(text) > limit and drop < max_drop:
    drop += 1
    text, trunc = render(cap, drop)
  if len(text) > limit:
    trunc = dataclasses.replace(trunc, over_budget=True)
  return text, trunc


@dataclasses.dataclass(frozen=True)
class Demonstration:
  """A solved training example for the one-shot variant: its reasoning and its true rating."""

  example: Example
  reason: str
  rating: int


@dataclasses.dataclass(frozen=True)
class Prompt:
  """Chat messages for one example and variant, with what truncation did."""

  example_id: str
  variant: str
  messages: tuple[dict, ...]
  truncation: Truncation
  demo_example_id: Optional[str] = None
  demo_truncation: Optional[Truncation] = None

  @property
  def text(self) -> str:
    """The last user message (the prompt proper)."""
    return self.messages[-1]["content"]

  def sha256(self) -> str:
    blob = json.dumps(self.messages, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def build_prompt(example: Example, variant: Variant | str, wording: Optional[DomainWording] = None,
                 budget: Budget = Budget(), demo: Optional[Demonstration] = None) -> Prompt:
  """The prompt of `variant` for `example`.

  one_shot needs `demo`: it is sent as an earlier user turn (its prompt) and assistant turn (its
  answer in the requested format), then the example's own prompt.
  """
  if isinstance(variant, str):
    variant = get_variant(variant)
  wording = wording or templates.wording_for(example.domain)
  task = templates.task_reasoning(wording) if variant.reasoning else templates.task_rating_only(wording)
  text, trunc = fit_to_budget(example, wording, variant.options, task, budget)
  messages: tuple[dict, ...] = ({"role": "user", "content": text},)
  demo_trunc = None
  if variant.one_shot:
    if demo is None:
      raise UserFacingError("the one_shot variant needs a solved training example (demonstration)")
    if demo.example.example_id == example.example_id:
      raise UserFacingError(f"one-shot demonstration {demo.example.example_id} is the example itself")
    demo_text, demo_trunc = fit_to_budget(demo.example, wording, variant.options, task, budget)
    messages = ({"role": "user", "content": demo_text},
                {"role": "assistant", "content": templates.reasoning_answer(demo.reason, demo.rating)},
                ) + messages
  return Prompt(example.example_id, variant.name, messages, trunc,
                demo.example.example_id if (variant.one_shot and demo) else None, demo_trunc)
