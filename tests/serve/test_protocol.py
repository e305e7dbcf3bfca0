"""Fast checks of the serving pieces that need no model: request validation, stop strings,
token strings, buckets, checkpoint kinds and vocabulary discovery, loopback detection."""
import json
import os

import pydantic
import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.serve import protocol, student
from recsaver_t5x.serve.engine import Buckets
from recsaver_t5x.serve.listen import is_loopback
from tests.conftest import SHARED

SPM = SHARED / "fixtures" / "t5x_tiny" / "spm.model"


def test_requests_validate_and_refuse_what_t5_cannot_do():
  r = protocol.ChatCompletionRequest(model="m", messages=[
      {"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "hello"}]}], user="x")
  assert r.prompt_text() == "be brief\n\nhello" and r.temperature == 1.0 and r.n == 1
  assert protocol.CompletionRequest(model="m", prompt="a", stop="###").stops == ["###"]
  for bad in ({"model": "m", "prompt": "a", "top_p": 0.9}, {"model": "m", "prompt": "a", "n": 17},
              {"model": "m", "prompt": []}, {"model": "m", "prompt": "a", "echo": True},
              {"model": "m", "prompt": "a", "response_format": {"type": "json_object"}},
              {"model": "m", "prompt": "a", "stop": [""]}):
    with pytest.raises(pydantic.ValidationError):
      protocol.CompletionRequest(**bad)
  with pytest.raises(pydantic.ValidationError, match="top_logprobs needs logprobs"):
    protocol.ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "x"}],
                                   top_logprobs=3)


def test_apply_stop_cuts_at_the_earliest():
  assert protocol.apply_stop("a ### b END c", ["END", "###"]) == ("a ", True)
  assert protocol.apply_stop("abc", ["x"]) == ("abc", False)


@pytest.mark.skipif(not SPM.is_file(), reason="shared fixture missing")
def test_token_texts_concatenate_to_the_text():
  from recsaver_t5x.model.vocab import get_vocabulary
  vocab = get_vocabulary(str(SPM))
  for text in ("the quick brown fox, 42 times", "  lead space", "ünïcödé ok"):
    ids = list(vocab.encode(text))
    full = vocab.decode(ids)
    pieces = protocol.token_texts(vocab.decode, ids, full)
    assert "".join(pieces) == full and len(pieces) == len(ids)
    cut, _ = protocol.apply_stop(full, ["brown"])
    assert "".join(protocol.token_texts(vocab.decode, ids, cut)) == cut


def test_buckets():
  b = Buckets.default(16, 512, 100)
  assert b.batch == (1, 2, 4, 8, 16) and b.inputs == (64, 128, 256, 512)
  assert b.decode == (32, 64, 100) and Buckets.pick(b.inputs, 65) == 128
  with pytest.raises(ValueError):
    Buckets.pick(b.inputs, 513)
  with pytest.raises(ValueError):
    Buckets((0,), (8,), (8,))


def test_checkpoint_kinds_and_vocabulary(tmp_path):
  t5x = SHARED / "fixtures" / "t5x_tiny" / "legacy" / "checkpoint_40"
  if t5x.is_dir():
    assert student.checkpoint_kind(str(t5x)) == "t5x"
  ours = tmp_path / "m"
  (ours / "checkpoint_5").mkdir(parents=True)
  (ours / "config.json").write_text("{}")
  assert student.checkpoint_kind(str(ours)) == "recsaver"
  tasks = tmp_path / "tasks.json"
  tasks.write_text(json.dumps({"vocabulary": "/v/spm.model"}))
  (ours / "config.gin").write_text(f"TASKS_CONFIG = '{tasks}'\n")
  assert student.find_vocabulary(str(ours), None) == "/v/spm.model"
  assert student.find_vocabulary(str(ours), "/x.model") == "/x.model"
  hf = tmp_path / "hf"
  hf.mkdir()
  (hf / "config.json").write_text("{}")
  (hf / "model.safetensors").write_bytes(b"")
  (hf / "spiece.model").write_bytes(b"")
  assert student.checkpoint_kind(str(hf)) == "hf"
  assert student.find_vocabulary(str(hf), None) == os.path.join(str(hf), "spiece.model")
  with pytest.raises(UserFacingError, match="neither"):
    student.checkpoint_kind(str(tmp_path))
  with pytest.raises(UserFacingError, match="no SentencePiece"):
    student.find_vocabulary(str(tmp_path), None)


def test_loopback():
  assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
  assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
