"""The naive user-average baseline."""
from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.baseline import user_average as baseline


def _example(ratings, target=3):
  hist = tuple(HistoryEntry(Item(f"i{k}"), r, "text", None, k) for k, r in enumerate(ratings))
  return Example("x", "d", "u", hist, Item("t"), target, 99)


def test_rounds_half_up():
  assert baseline.user_average_predictions([_example([2, 3, 2, 3])]) == [3]  # 2.5 -> 3, not banker's 2
  assert baseline.user_average_predictions([_example([5, 5, 4, 4, 4])]) == [4]  # 4.4 -> 4
  assert baseline.user_average_predictions([_example([1, 1, 1, 2])]) == [1]


def test_probabilities_are_history_distribution():
  (p,) = baseline.user_average_probabilities([_example([5, 5, 4, 1])])
  assert p == [0.25, 0.0, 0.0, 0.25, 0.5]
