"""Sample filters and target texts: pure functions against hand-checked cases and brute force."""
import hypothesis.strategies as st
from hypothesis import given

from recsaver_t5x import targets
from recsaver_t5x.tasks import filters, naming
from recsaver_t5x.tasks.filters import TeacherSample


def test_filters_truth_table():
  # (teacher, truth) -> (all, exact, binary, oneoff)
  cases = {(5, 5): (1, 1, 1, 1), (4, 5): (1, 0, 1, 1), (3, 4): (1, 0, 0, 1),
           (2, 4): (1, 0, 0, 0), (1, 2): (1, 0, 1, 1), (3, 3): (1, 1, 1, 1),
           (4, 3): (1, 0, 0, 1), (None, 3): (1, 0, 0, 0)}
  for (pred, true), want in cases.items():
    got = tuple(int(filters.FILTERS[n](pred, true)) for n in ("all", "exact", "binary", "oneoff"))
    assert got == want, (pred, true)


@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 5)), st.booleans()), max_size=8),
       st.integers(1, 5), st.integers(1, 10), st.sampled_from(naming.FILTER_NAMES))
def test_select_samples_matches_brute_force(specs, true, m, name):
  samples = [TeacherSample("e", i, "why" if has_text else "  ", r)
             for i, (r, has_text) in enumerate(specs)]
  shuffled = list(reversed(samples))  # order of the input must not matter
  got = filters.select_samples(shuffled, true, name, m)
  want = []
  for s in samples[:m]:
    if not s.reasoning.strip():
      continue
    r = s.rating
    ok = {"all": True, "exact": r == true,
          "binary": r is not None and (r >= 4) == (true >= 4),
          "oneoff": r is not None and abs(r - true) <= 1}[name]
    if ok:
      want.append(s)
  assert got == want
  assert len(got) <= m


def test_targets_and_reasoning_extraction():
  assert targets.reasoning_target("  likes soft things \n", 4) == (
      "### Reason ###\nlikes soft things\n### Rating ###\n4")
  assert targets.rating_target(2) == "### Rating ###\n2"
  assert targets.extract_reasoning("### Reason ###\nA.\nB.\n### Rating ###\n5") == "A.\nB."
  assert targets.extract_reasoning("no markers at all") == "no markers at all"
  assert targets.extract_reasoning("thinking\n## Rating ##: 3") == "thinking"


def test_filter_counts():
  s = {"a": [TeacherSample("a", 0, "x", 5), TeacherSample("a", 1, "y", 3)],
       "b": [TeacherSample("b", 0, "z", None)]}
  assert filters.filter_counts(s, {"a": 4, "b": 2}, m=2) == {
      "all": 3, "exact": 0, "binary": 1, "oneoff": 2}
