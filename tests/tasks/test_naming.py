"""The task-naming scheme: valid seqio names, one documented pattern, and its inverse."""
import re

import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.tasks import naming


def test_names_and_inverse():
  assert naming.train_task_name("beauty", "reason", "exact", 3) == "recsaver_beauty_reason_exact_m3"
  assert naming.train_task_name("movies_tv", "rating") == "recsaver_movies_tv_rating"
  assert naming.eval_task_name("movies_tv", "reason") == "recsaver_movies_tv_reason_eval"
  assert naming.mixture_name("reason", "oneoff", 5) == "recsaver_mix_reason_oneoff_m5"
  assert naming.mixture_name("rating", eval_=True) == "recsaver_mix_rating_eval"
  for name, want in [
      ("recsaver_movies_tv_reason_binary_m12", ("movies_tv", "reason", False, "binary", 12)),
      ("recsaver_beauty_rating", ("beauty", "rating", False, None, None)),
      ("recsaver_beauty_rating_eval", ("beauty", "rating", True, None, None)),
      ("recsaver_digital_music_reason_eval", ("digital_music", "reason", True, None, None))]:
    p = naming.parse_task_name(name)
    assert (p["domain"], p["targets"], p["eval"], p["filter"], p["m"]) == want
    assert re.match(r"^[\w\d\.\:_#]+$", name)  # seqio's name pattern


@pytest.mark.parametrize("bad", ["Beauty", "movies-tv", "a__b", "mix_x", ""])
def test_bad_domain_names(bad):
  with pytest.raises(UserFacingError):
    naming.check_domain(bad)


def test_bad_filter_and_m():
  with pytest.raises(UserFacingError):
    naming.train_task_name("beauty", "reason", "nearly", 1)
  with pytest.raises(UserFacingError):
    naming.train_task_name("beauty", "reason", "all", 0)
