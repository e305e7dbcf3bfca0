"""The mechanisms behind the bad-input corpus, each tested on its own.

- flags: every subcommand option is checked by an `argtypes` type at parse time (no bare int/float);
- paths: each subcommand declares its path arguments by role (`PATHS`), checked before `main`;
- JSON files: `jsonl.read_json` names file and line; `shapes.reading` names the field;
- a run file is checked whole (BOM, gin values, the domains' files) before any stage runs.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os

import pytest

from recsaver_t5x import argtypes, cli, jsonl, paths, shapes
from recsaver_t5x.errors import InputError, UserFacingError


def _parser(command: str) -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog=f"recsaver {command}")
  importlib.import_module(cli.COMMANDS[command][0]).add_arguments(p)
  return p


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_no_option_is_a_bare_int_or_float(command):
  """A bare `type=int` accepts -1 and 0 silently: every count goes through `argtypes`."""
  bare = [a.option_strings or [a.dest] for a in _parser(command)._actions  # pylint: disable=protected-access
          if a.type in (int, float)]
  assert not bare, f"recsaver {command}: use recsaver_t5x.argtypes for {bare}"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_declared_paths_are_arguments_of_the_command(command):
  module = importlib.import_module(cli.COMMANDS[command][0])
  declared = getattr(module, "PATHS", {})
  dests = {a.dest for a in _parser(command)._actions}  # pylint: disable=protected-access
  roles = {paths.IN_FILE, paths.IN_DIR, paths.IN_ANY, paths.MAYBE_FILE, paths.OUT_FILE,
           paths.OUT_DIR}
  for dest, (role, what, *reads) in declared.items():
    assert dest in dests and role in roles and what, (command, dest)
    assert not reads or (role == paths.IN_DIR and len(reads) == 1 and reads[0]), (command, dest)
  if command not in ("synth", "train"):  # every other command reads or writes a path the user gives
    assert declared, command


def test_filter_names_are_the_filters():
  from recsaver_t5x.pipeline.tasks_cli import FILTER_NAMES
  from recsaver_t5x.tasks.filters import FILTERS
  assert tuple(FILTERS) == FILTER_NAMES


@pytest.mark.parametrize("parse,text,needle", [
    (argtypes.port, "70000", "must be <= 65535"),
    (argtypes.int_list(1), "1,0", "must be >= 1"),
    (argtypes.int_list(1), ",", "expected comma-separated integers"),
    (argtypes.choice_list(("train", "test")), "train,val", "unknown value(s) 'val'"),
    (argtypes.base_urls, "127.0.0.1:8080/v1", "not an http(s) URL"),
    (argtypes.base_urls, "http://127.0.0.1:99999/v1", "Port out of range"),
    (argtypes.checked(lambda t: (_ for _ in ()).throw(UserFacingError(f"--x {t!r}: bad"))), "v", "bad"),
])
def test_argtypes(parse, text, needle):
  with pytest.raises(argparse.ArgumentTypeError, match=None) as e:
    parse(text)
  assert needle in str(e.value)
  assert not str(e.value).startswith("--x")  # argparse names the flag; the message does not repeat it


def test_list_flags_take_a_toml_list_in_a_run_file():
  from recsaver_t5x.pipeline import cli_args
  action = cli_args.options("tasks")["ms"]
  assert cli_args.check_value(action, [1, 3]) is None
  assert "must be >= 1" in cli_args.check_value(action, [1, 0])
  assert argtypes.int_list(1)("1,3") == (1, 3)


# ------------------------------------------------------------------ paths by role


def _args(**kw):
  return argparse.Namespace(**kw)


def test_roles(tmp_path):
  f = tmp_path / "f.json"
  f.write_text("{}")
  d = tmp_path / "d"
  d.mkdir()
  (d / "test.jsonl").write_text("{}\n")
  check = paths.check_declared
  with pytest.raises(UserFacingError, match=r"d: is a directory, expected a review file"):
    check(_args(x=str(d)), {"x": (paths.IN_FILE, "review file")})
  with pytest.raises(UserFacingError, match=r"f.json: is a file, expected a prepared directory"):
    check(_args(x=str(f)), {"x": (paths.IN_DIR, "prepared directory")})
  with pytest.raises(UserFacingError, match=r"d: is a directory, expected an output file"):
    check(_args(x=str(d)), {"x": (paths.OUT_FILE, "output file")})
  with pytest.raises(UserFacingError, match=r"f.json: exists and is not a directory \(expected an output"):
    check(_args(x=str(f)), {"x": (paths.OUT_DIR, "output directory")})
  with pytest.raises(UserFacingError, match=r"the output is a file of the input"):
    check(_args(i=str(d), o=str(d / "test.jsonl")),
          {"i": (paths.IN_DIR, "prepared directory"), "o": (paths.OUT_FILE, "output file")})
  with pytest.raises(UserFacingError, match=r"the output is the input"):
    check(_args(i=[str(f)], o=str(f)), {"i": (paths.IN_FILE, "file"), "o": (paths.OUT_FILE, "out")})
  # a new file in an input directory is fine, and nothing is created by the checks
  check(_args(i=str(d), o=str(d / "new.json"), p=str(tmp_path / "a" / "b")),
        {"i": (paths.IN_DIR, "dir"), "o": (paths.OUT_FILE, "out"), "p": (paths.OUT_DIR, "out dir")})
  assert not (tmp_path / "a").exists() and not (d / "new.json").exists()
  check(_args(x=None, m=str(tmp_path / "absent")), {"x": (paths.IN_FILE, "f"),
                                                    "m": (paths.MAYBE_FILE, "store")})


def test_paths_are_checked_before_main(tmp_path, capsys, monkeypatch):
  """mf-baseline --out PREPARED/test.jsonl was written over the examples; now refused first."""
  prep = tmp_path / "prep"
  prep.mkdir()
  (prep / "test.jsonl").write_text('{"keep": 1}\n')
  assert cli.main(["mf-baseline", str(prep), "--out", str(prep / "test.jsonl")]) == 2
  assert "the output is a file of the input" in capsys.readouterr().err
  assert (prep / "test.jsonl").read_text() == '{"keep": 1}\n'


def test_results_kept_in_a_prepared_dir_are_written_again_on_resume(tmp_path):
  """Only the files a prepared dataset is read for are inputs: a store or mf.json kept beside them
  is an output that a resumed run appends to or replaces; its examples stay protected."""
  from recsaver_t5x.data import io as data_io
  prep = tmp_path / "prep"
  prep.mkdir()
  for name in ("train.jsonl", "test.jsonl", "manifest.json", "samples.jsonl", "mf.json"):
    (prep / name).write_text("{}\n")
  check = paths.check_declared
  declared = {"i": data_io.PREPARED_DIR, "o": (paths.OUT_FILE, "sample store")}
  for kept in ("samples.jsonl", "mf.json"):
    check(_args(i=str(prep), o=str(prep / kept)), declared)
  for read in ("train.jsonl", "test.jsonl", "manifest.json"):
    with pytest.raises(UserFacingError, match=rf"{read}: the output is a file of the input {prep}"):
      check(_args(i=str(prep), o=str(prep / read)), declared)
  (prep / "test.jsonl").unlink()  # not there yet: still the directory's input, never an output
  with pytest.raises(UserFacingError, match=r"the output is a file of the input"):
    check(_args(i=str(prep), o=str(prep / "test.jsonl")), declared)


def test_a_foreign_one_line_file_given_as_store_is_refused_not_truncated(tmp_path):
  from recsaver_t5x.teacher.store import SampleStore
  path = tmp_path / "examples.jsonl"
  path.write_text('{"example_id": "ex0"}\n')
  with pytest.raises(InputError, match=r"examples.jsonl:1: unreadable sample record"):
    SampleStore(str(path))
  assert path.read_text() == '{"example_id": "ex0"}\n'
  path.write_text('{"key": ["ex0", "r", "m", 0.7, 0], "te')  # a torn first write: repaired
  with SampleStore(str(path)) as st:
    assert len(st) == 0 and st.repaired_bytes > 0


# ------------------------------------------------------------------ JSON files, records


def test_read_json(tmp_path):
  p = tmp_path / "m.json"
  p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"auc": float("nan")}).encode())  # BOM; NaN we write
  assert jsonl.read_json_object(str(p))["auc"] != 0
  p.write_bytes(b'{"a": "caf\xe9"}')
  with pytest.raises(InputError, match=r"m.json: not UTF-8 text \(byte 0xe9 at offset 10\)"):
    jsonl.read_json(str(p))
  p.write_text('{"a": 1,\n "b": }')
  with pytest.raises(InputError, match=r"m.json:2: not valid JSON \(Expecting value at column 7\)"):
    jsonl.read_json(str(p))
  p.write_text("[]")
  with pytest.raises(InputError, match=r"must hold an object"):
    jsonl.read_json_object(str(p))
  p.write_text(" \n")
  with pytest.raises(InputError, match=r"empty file"):
    jsonl.read_json(str(p))


def test_latin1_line_of_a_jsonl_file_is_named_as_such(tmp_path):
  p = tmp_path / "e.jsonl"
  p.write_bytes(b'{"a": 1}\n{"a": "caf\xe9"}\n')
  with pytest.raises(InputError, match=r"e.jsonl:2: not UTF-8 text \(byte 0xe9 at column 11\)"):
    list(jsonl.iter_json_objects(str(p)))


def test_json_decode_error_anywhere_is_one_line_naming_the_file(tmp_path):
  from recsaver_t5x import errors
  p = tmp_path / "meta.json"
  p.write_text("{\n  oops")
  try:
    with open(p, encoding="utf-8") as f:
      json.load(f)
  except json.JSONDecodeError as e:
    assert errors.one_line(e) == f"{p}:2: not valid JSON (Expecting property name enclosed in double quotes at column 3)"


def test_reading_names_file_line_and_field():
  with pytest.raises(InputError, match=r"^p.jsonl:3: field 'split': missing \(required\)$"):
    with shapes.reading("p.jsonl", 3):
      {}["split"]  # pylint: disable=expression-not-assigned
  with pytest.raises(InputError, match=r"^m.json: field 'predictions\[2\].true_rating': missing"):
    with shapes.reading("m.json", field="predictions[2]"):
      {}["true_rating"]  # pylint: disable=expression-not-assigned
  with pytest.raises(InputError, match=r"^p.jsonl:1: a value of the wrong type or shape \(invalid literal"):
    with shapes.reading("p.jsonl", 1):
      int("five")
  with pytest.raises(UserFacingError, match="^as is$"):  # already one line: passed through
    with shapes.reading("p.jsonl", 1):
      raise UserFacingError("as is")


@pytest.mark.parametrize("value,needle", [
    ("four", "must be an integer, got a string 'four'"), (3.5, "got a number 3.5"),
    (None, "got null"), (float("nan"), "got nan"), (6, "must be in 1..5, got 6"),
    (True, "got true or false True")])
def test_ratings_on_the_scale(value, needle):
  from recsaver_t5x.scale import DEFAULT_SCALE
  with pytest.raises(InputError) as e:
    shapes.as_rating("x.jsonl", "true_rating", value, DEFAULT_SCALE, line=2)
  assert str(e.value).startswith("x.jsonl:2: field 'true_rating': ") and needle in str(e.value)
  assert shapes.as_rating("x.jsonl", "r", 4.0, DEFAULT_SCALE) == 4


@pytest.mark.parametrize("value,needle", [
    ([1, 5], "field 'rating_scale': must be an object"), ({"low": "one", "high": 5}, "rating_scale.low"),
    ({"low": 5, "high": 1, "positive_above": 3}, "need integers with low < high"),
    ({"lo": 1}, "unknown key(s) 'lo'")])
def test_scales(value, needle):
  with pytest.raises(InputError) as e:
    shapes.as_scale("manifest.json", "rating_scale", value)
  assert needle in str(e.value)


def test_examples_off_the_domain_scale_name_their_line(tmp_path):
  from recsaver_t5x.data import io as data_io
  from tests.cli.bad_input_cases import example, jl, manifest
  d = tmp_path / "prep"
  d.mkdir()
  (d / "manifest.json").write_text(json.dumps(manifest(str(tmp_path), rating_scale={
      "low": 1, "high": 10, "positive_above": 6})))
  (d / "test.jsonl").write_bytes(jl(example(0, rating=9), example(1, rating=11)))
  with pytest.raises(InputError, match=r"test.jsonl:2: field 'true_rating': must be in 1..10, got 11"):
    data_io.read_split(str(d), "test")


# ------------------------------------------------------------------ run files


def _run_file(tmp_path, extra: str = "", bom: bool = False):
  from tests.cli.bad_input_cases import raw_reviews
  (tmp_path / "r.json").write_bytes(raw_reviews())
  text = f'run_dir = "{tmp_path}/run"\n[[domains]]\nname = "x"\nreviews = ["{tmp_path}/r.json"]\n' + extra
  path = tmp_path / "run.toml"
  path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
  return str(path)


def test_run_file_with_a_bom_is_read(tmp_path, capsys):
  assert cli.main(["run", _run_file(tmp_path, bom=True), "--check"]) == 0
  assert "run file OK" in capsys.readouterr().out


@pytest.mark.parametrize("extra,needle", [
    ("[train]\nDROPOUT_RATE = 1.5\n", "[train]: invalid gin values: DROPOUT_RATE = 1.5"),
    ('[[students]]\nname = "s"\ntask = "t"\neval_task = "e"\ngin = {TASK_FEATURE_LENGTHS = {inputs = 0}}\n',
     "[[students]] entry 1: gin: invalid gin values: TASK_FEATURE_LENGTHS['inputs'] = 0"),
])
def test_gin_values_of_a_run_file_fail_before_any_stage(tmp_path, capsys, extra, needle):
  assert cli.main(["run", _run_file(tmp_path, extra), "--check"]) == 2
  err = capsys.readouterr().err.strip()
  assert needle in err and "\n" not in err
  assert not os.path.exists(tmp_path / "run")
