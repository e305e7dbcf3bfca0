"""Config files of the wrong shape: one line naming the file and the field."""
import json

import pytest

from recsaver_t5x import cli, shapes
from recsaver_t5x.errors import InputError
from recsaver_t5x.prompting.variants import Budget


def test_dataclass_from_object_checks_keys_and_types(tmp_path):
  assert shapes.as_dataclass("c.json", "budget", Budget, {"max_prompt_chars": 100}) == \
      Budget(max_prompt_chars=100)
  assert shapes.as_dataclass("c.json", "budget", Budget, {"max_prompt_chars": None}).max_prompt_chars is None
  with pytest.raises(InputError, match=r"c.json: field 'budget': unknown key\(s\) 'max_chars'; known: "):
    shapes.as_dataclass("c.json", "budget", Budget, {"max_chars": 100})
  with pytest.raises(InputError, match=r"field 'budget.max_field_chars': must be an integer, got a string"):
    shapes.as_dataclass("c.json", "budget", Budget, {"max_field_chars": "1200"})
  with pytest.raises(InputError, match="field 'budget': must be an object, got an array"):
    shapes.as_dataclass("c.json", "budget", Budget, [1])


@pytest.mark.parametrize("content,needle", [
    ([{"name": "x", "prepared_dir": "p"}], "the file must hold an object ({...}), got an array"),
    ({"domains": [{"name": "x", "prepared_dir": "p"}], "budget": {"max_chars": 5}},
     "field 'budget': unknown key(s) 'max_chars'"),
    ({"domains": [{"name": "x", "prepared_dir": "p"}], "ms": "1,3"}, "field 'ms': must be an array"),
    ({"domains": [{"name": "x", "prepared_dir": "p"}], "ms": [1, "3"]}, "field 'ms': item 1 must be an integer"),
    ({"domains": {"name": "x"}}, "field 'domains': must be an array, got an object"),
    ({"domains": [{"name": "x", "prepared": "p"}]}, "field 'domains[0]': unknown key(s) 'prepared'"),
    ({"domian": []}, "unknown key(s) 'domian'"),
])
def test_tasks_config_shapes(tmp_path, content, needle):
  from recsaver_t5x.tasks import from_config
  path = tmp_path / "tasks.json"
  path.write_text(json.dumps(content))
  with pytest.raises(InputError) as e:
    from_config.register(str(path))
  assert str(e.value).startswith(str(path))
  assert needle in str(e.value)


def test_references_rating_five_names_file_line_field(tmp_path, capsys):
  refs = tmp_path / "refs.jsonl"
  refs.write_text(json.dumps({"example_id": "e1", "rating": 4, "references": ["a"]}) + "\n"
                  + json.dumps({"example_id": "e2", "rating": "five", "references": ["b"]}) + "\n")
  cands = tmp_path / "c.jsonl"
  cands.write_text(json.dumps({"example_id": "e1", "text": "a", "predicted_rating": 4}) + "\n")
  assert cli.main(["reasoning-metrics", "--references", str(refs), "--candidates", str(cands),
                   "--metrics", "bleu"]) == 2
  err = capsys.readouterr().err.strip()
  assert err == (f"recsaver reasoning-metrics: error: {refs}:2: field 'rating': must be an integer, "
                 "got a string 'five'")


def test_references_rating_off_the_scale(tmp_path):
  from recsaver_t5x.eval.references_file import load_ratings
  from recsaver_t5x.scale import RatingScale
  refs = tmp_path / "refs.jsonl"
  refs.write_text(json.dumps({"example_id": "e1", "rating": 7}) + "\n")
  with pytest.raises(InputError, match="must be in 1..5, got 7"):
    load_ratings(str(refs))
  assert load_ratings(str(refs), RatingScale(1, 10, 5)) == {"e1": 7}
