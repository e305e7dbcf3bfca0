"""The study's reasoning prompt (Tsai et al., Appendix A, Table 12), field for field.

The prompt has four parts: a preamble (user and new item; ratings 1..5), the past user history
("### Past User History: ###", one block per past item: Title, Brand, Categories, Description,
Item Price, User Rating, User Review), the new item ("### New Item Information: ###") and the task
description with the output format ("### Reason ###" then "### Rating ###").

Domain wording (product/purchase for BEAUTY, video (movies and tv)/watch for MOVIES/TV) is a
parameter: `DomainWording`. The parts are exposed separately so that other prompts (Rec-SAVER's
post-hoc explanation and verification prompts) reuse the same history and item rendering.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.errors import UserFacingError

HISTORY_HEADER = "### Past User History: ###"
NEW_ITEM_HEADER = "### New Item Information: ###"
END_OF_INPUTS = "######"
REASON_HEADER = "### Reason ###"
RATING_HEADER = "### Rating ###"

# Item fields in the study's order; `field` names the attribute of `Item`.
ITEM_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "{Item} Title"),
    ("brand", "Brand"),
    ("categories", "Categories"),
    ("description", "Description"),
    ("price", "Item Price"),
)


@dataclasses.dataclass(frozen=True)
class DomainWording:
  """How the prompt names the items of a domain.

  Attributes:
    item: the item noun inside sentences ("product", "video (movies and tv)").
    item_label: the capitalised noun in field labels ("Product Title", "New Product").
    history_verb: what the user did with past items ("purchase" -> "past purchase history").
  """

  item: str
  item_label: str
  history_verb: str


WORDINGS: dict[str, DomainWording] = {
    "beauty": DomainWording("product", "Product", "purchase"),
    "movies_tv": DomainWording("video (movies and tv)", "Video (Movies and TV)", "watch"),
    "digital_music": DomainWording("music album", "Music Album", "listen"),
    # Not in the study: the first domain with enough 1- and 2-star examples (shared data README).
    "magazine_subscriptions": DomainWording("magazine", "Magazine", "subscription"),
}

# Names used for the same domains elsewhere (raw Amazon category names, folder names).
_ALIASES = {
    "all_beauty": "beauty", "luxury_beauty": "beauty",
    "movies_and_tv": "movies_tv", "movies": "movies_tv", "movies/tv": "movies_tv",
    "music": "digital_music",
    "magazines": "magazine_subscriptions", "magazine": "magazine_subscriptions",
}


def wording_for(domain: str) -> DomainWording:
  """The preset wording for a domain name (case-insensitive, common aliases accepted)."""
  key = domain.strip().lower().replace("-", "_").replace(" ", "_")
  key = _ALIASES.get(key, key)
  if key not in WORDINGS:
    raise UserFacingError(
        f"no prompt wording for domain '{domain}'; known: {', '.join(sorted(WORDINGS))}. "
        "A new domain supplies its own DomainWording(item, item_label, history_verb).")
  return WORDINGS[key]


@dataclasses.dataclass(frozen=True)
class RenderOptions:
  """Which fields appear in the history blocks (the study's input ablations).

  Attributes:
    user_review: show "User Review" for past items.
    user_rating: show "User Rating" for past items.
    description: show "Description" for past and new items.
    missing: text shown for a metadata field the source does not have (never invented).
  """

  user_review: bool = True
  user_rating: bool = True
  description: bool = True
  missing: str = "N/A"


def preamble(wording: DomainWording) -> str:
  return (f"Here is information about a user and a new {wording.item} being recommended to the "
          "user. For the user, we have the user's past item information history and the user's "
          "corresponding ratings. User ratings range from 1 to 5, where 1 is the lowest and 5 is "
          "the highest. For the new item being recommended, we have the item information.")


def _value(value: object, missing: str) -> str:
  if value is None or value == "" or value == ():
    return missing
  if isinstance(value, (tuple, list)):
    return ", ".join(str(v) for v in value)
  return str(value)


def item_lines(item: Item, wording: DomainWording, options: RenderOptions) -> list[str]:
  lines = []
  for field, label in ITEM_FIELDS:
    if field == "description" and not options.description:
      continue
    lines.append(f"{label.format(Item=wording.item_label)}: {_value(getattr(item, field), options.missing)}")
  return lines


def history_entry_block(entry: HistoryEntry, wording: DomainWording, options: RenderOptions) -> str:
  lines = item_lines(entry.item, wording, options)
  if options.user_rating:
    lines.append(f"User Rating: {entry.rating}")
  if options.user_review:
    lines.append(f"User Review: {_value(entry.review, options.missing)}")
  return "\n".join(lines)


def history_section(history: Sequence[HistoryEntry], wording: DomainWording,
                    options: RenderOptions) -> str:
  blocks = [history_entry_block(h, wording, options) for h in history]
  return HISTORY_HEADER + "\n" + "\n\n".join(blocks)


def new_item_section(item: Item, wording: DomainWording, options: RenderOptions) -> str:
  lines = [NEW_ITEM_HEADER, f"New {wording.item_label}"]
  lines += item_lines(item, wording, options)
  lines.append(END_OF_INPUTS)
  return "\n".join(lines)


def task_reasoning(wording: DomainWording) -> str:
  """Task description of the zero-shot chain-of-thought prompt (reason, then rate)."""
  return (
      f"Given the user's past {wording.history_verb} history and the new item information, what "
      "information can you infer about the user's preferences and how they will rate the new "
      f"{wording.item}?\n"
      "Your reasoning explanation should be based on any commonalities in the user history items "
      "and inferred user tastes or preferences.\n"
      "After your reasoning, predict a numerical rating.\n\n"
      "Please follow the format below:\n"
      f"{REASON_HEADER}\n"
      "Write your reasoning explanation here. You can have line breaks.\n"
      f"{RATING_HEADER}\n"
      "Give a single numerical rating, e.g. 1")


def task_rating_only(wording: DomainWording) -> str:
  """Task description without the reasoning step (study's Table 2, highlighted parts removed)."""
  return (
      f"Given the user's past {wording.history_verb} history and the new item information, "
      f"how will they rate the new {wording.item}?\n\n"
      "Please follow the format below:\n"
      f"{RATING_HEADER}\n"
      "Give a single numerical rating, e.g. 1")


def reasoning_answer(reason: str, rating: int) -> str:
  """An answer in the requested output format (used for one-shot demonstrations)."""
  return f"{REASON_HEADER}\n{reason.strip()}\n{RATING_HEADER}\n{int(rating)}"


def render_prompt(history: Sequence[HistoryEntry], target: Item, wording: DomainWording,
                  options: RenderOptions, task: str) -> str:
  """Preamble, history, new item and task description, separated by blank lines."""
  return "\n\n".join([preamble(wording), history_section(history, wording, options),
                      new_item_section(target, wording, options), task])


def render_example(example: Example, wording: Optional[DomainWording] = None,
                   options: RenderOptions = RenderOptions(), reasoning: bool = True) -> str:
  """The study's prompt for one example (no truncation; see `variants.build_prompt`)."""
  wording = wording or wording_for(example.domain)
  task = task_reasoning(wording) if reasoning else task_rating_only(wording)
  return render_prompt(example.history, example.target, wording, options, task)
