"""Records shared by every stage: items, history entries and rating-prediction examples.

Examples are written as JSON lines; `to_dict`/`from_dict` are the only (de)serialisers so that
every stage reads and writes the same schema. Missing metadata stays `None` (never invented).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

RATINGS = (1, 2, 3, 4, 5)


@dataclasses.dataclass(frozen=True)
class Item:
  """Item metadata as found in the source; any field may be missing (None)."""

  asin: str
  title: Optional[str] = None
  brand: Optional[str] = None
  categories: Optional[tuple[str, ...]] = None
  description: Optional[str] = None
  price: Optional[str] = None

  def missing_fields(self) -> tuple[str, ...]:
    return tuple(f for f in ("title", "brand", "categories", "description", "price")
                 if getattr(self, f) in (None, (), ""))


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
  """One earlier review of the user: the item, the user's rating and review text."""

  item: Item
  rating: int
  review: Optional[str]
  summary: Optional[str]
  timestamp: int


@dataclasses.dataclass(frozen=True)
class Example:
  """A rating-prediction example: chronological history, a new item and the true rating."""

  example_id: str
  domain: str
  user_id: str
  history: tuple[HistoryEntry, ...]
  target: Item
  true_rating: int
  timestamp: int
  split: str = ""

  def to_dict(self) -> dict[str, Any]:
    # Hand-written: dataclasses.asdict deep-copies recursively and dominated prepare's profile.
    return {"example_id": self.example_id, "domain": self.domain, "user_id": self.user_id,
            "history": [{"item": _item_dict(h.item), "rating": h.rating, "review": h.review,
                         "summary": h.summary, "timestamp": h.timestamp} for h in self.history],
            "target": _item_dict(self.target), "true_rating": self.true_rating,
            "timestamp": self.timestamp,
            "split": self.split}

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "Example":
    return cls(
        example_id=d["example_id"], domain=d["domain"], user_id=d["user_id"],
        history=tuple(HistoryEntry(item=_item(h["item"]), rating=int(h["rating"]),
                                   review=h.get("review"), summary=h.get("summary"),
                                   timestamp=int(h["timestamp"])) for h in d["history"]),
        target=_item(d["target"]),
        # "rating": the key before the rename, accepted for one release (existing prepared dirs).
        true_rating=int(d["true_rating"] if "true_rating" in d else d["rating"]),
        timestamp=int(d["timestamp"]),
        split=d.get("split", ""))

  def history_mean_rating(self) -> float:
    return sum(h.rating for h in self.history) / len(self.history)


def _item_dict(i: Item) -> dict[str, Any]:
  return {"asin": i.asin, "title": i.title, "brand": i.brand,
          "categories": list(i.categories) if i.categories is not None else None,
          "description": i.description, "price": i.price}


def _item(d: dict[str, Any]) -> Item:
  cats = d.get("categories")
  return Item(asin=d["asin"], title=d.get("title"), brand=d.get("brand"),
              categories=tuple(cats) if cats is not None else None,
              description=d.get("description"), price=d.get("price"))
