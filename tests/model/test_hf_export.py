"""`recsaver export --hf`: transformers' `from_pretrained` loads the directory with equal logits,
and the SentencePiece vocabulary as a tokenizer that encodes like seqio's.

References: transformers' PyTorch T5 (its own loader) vs our network; for the T5X fixture, the
logits T5X itself computed (`expected.npz`).
"""
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import checkpoints, hf_export, model_dir, network
from recsaver_t5x.model.config import T5Config

from .conftest import REPO, random_tokens

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
seqio = pytest.importorskip("seqio")

CONFIGS = [  # Flan-T5 (separate head), T5 v1.0 (tied, rescaled, ReLU), gated SiLU
    dict(mlp_activations=("gelu", "linear"), logits_via_embedding=False),
    dict(mlp_activations=("relu",), logits_via_embedding=True),
    dict(mlp_activations=("silu", "linear"), logits_via_embedding=False),
]


def _random_model(seed: int, **overrides):
  config = T5Config(vocab_size=96, emb_dim=16, num_heads=4, head_dim=6, mlp_dim=24,
                    num_encoder_layers=2, num_decoder_layers=3, dropout_rate=0.0,
                    relative_attention_num_buckets=8, relative_attention_max_distance=16,
                    **overrides)
  params = network.init_params(config, jax.random.PRNGKey(seed))
  rng = np.random.default_rng(seed)
  flat = {k: np.asarray(v) * (rng.uniform(0.5, 1.5, np.shape(v)) if k.endswith("scale") else 1.0)
          for k, v in checkpoints.flatten(params).items()}
  return config, checkpoints.unflatten(flat)


def _batch(seed, vocab):
  rng = np.random.default_rng(seed)
  enc = random_tokens(rng, [9, 5, 12], 12, vocab)
  tgt = random_tokens(rng, [6, 9, 3], 9, vocab)
  return enc, np.pad(tgt[:, :-1], ((0, 0), (1, 0))), tgt


def _hf_logits(out_dir, enc, dec_in):
  model = transformers.T5ForConditionalGeneration.from_pretrained(str(out_dir)).eval()
  with torch.no_grad():
    return model(input_ids=torch.tensor(enc, dtype=torch.long),
                 attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                 decoder_input_ids=torch.tensor(dec_in, dtype=torch.long)).logits.float().numpy()


@pytest.mark.parametrize("idx", range(len(CONFIGS)))
def test_our_checkpoint_round_trip(tmp_path, idx):
  """A `recsaver train`-style model dir -> HF dir -> from_pretrained: equal logits; and our
  importer reads the export back exactly."""
  config, params = _random_model(idx, **CONFIGS[idx])
  checkpoints.save_checkpoint(str(tmp_path / "m"), params, 7, config)
  loaded_config, loaded, step = model_dir.load_model_dir(str(tmp_path / "m"))
  assert step == 7 and loaded_config == config
  hf_export.export_hf(loaded, loaded_config, str(tmp_path / "hf"), None)
  enc, dec_in, tgt = _batch(idx, config.vocab_size)
  ours = np.asarray(network.Transformer(config).apply({"params": params}, enc, dec_in, tgt,
                                                      enable_dropout=False))
  theirs = _hf_logits(tmp_path / "hf", enc, dec_in)
  valid = tgt > 0
  assert np.abs(theirs[valid]).max() > 0.5
  assert np.abs(ours - theirs)[valid].max() <= 2e-5
  written = json.loads((tmp_path / "hf" / "config.json").read_text())
  assert written["tie_word_embeddings"] == config.logits_via_embedding
  back_config, back = checkpoints.load_hf_checkpoint(str(tmp_path / "hf"))
  assert back_config.logits_via_embedding == config.logits_via_embedding
  assert checkpoints.tree_max_abs_diff(back, params) == 0.0


def test_bfloat16_export(tmp_path):
  config, params = _random_model(5, **CONFIGS[0])
  hf_export.export_hf(params, config, str(tmp_path), None, dtype="bfloat16")
  model = transformers.T5ForConditionalGeneration.from_pretrained(str(tmp_path))
  assert model.shared.weight.dtype == torch.bfloat16
  want = checkpoints.flatten(params)["token_embedder/embedding"]
  np.testing.assert_allclose(model.shared.weight.detach().float().numpy(), want, rtol=1e-2, atol=1e-2)


def _spm(tmp_path, n=120):
  """A toolkit SentencePiece model (at most n pieces: the trainer's limit is soft)."""
  from tests.tasks import fakedata
  texts = [fakedata.answer(f"likes item {i} a lot, great value", (i % 5) + 1) for i in range(80)]
  return fakedata.train_spm(str(tmp_path), texts, vocab_size=n)


def test_tokenizer_encodes_like_seqio(tmp_path):
  """Our vocabularies (markers and digits as user-defined pieces) on real prompt texts."""
  from recsaver_t5x.prompting import variants
  from tests.tasks import fakedata
  spm = _spm(tmp_path)
  config, params = _random_model(1, **CONFIGS[0])
  hf_export.export_hf(params, config, str(tmp_path / "hf"), spm)
  vocab = seqio.SentencePieceVocabulary(spm)
  texts = ["### Reason ###\nlikes item 3 a lot\n### Rating ###\n4", "  great  value,\n\n12 items ",
           "Ünïcödé ﬁ ½ 12345"]
  texts += [variants.build_prompt(ex, "reasoning").text
            for ex in fakedata.make_examples(6, "beauty", seed=5, prefix="x")]
  for cls in (transformers.AutoTokenizer, transformers.PreTrainedTokenizerFast):
    tok = cls.from_pretrained(str(tmp_path / "hf"))
    assert len(tok) == hf_export.sentencepiece_pieces(spm) == vocab.vocab_size
    for text in texts:
      ids = tok(text).input_ids
      assert ids == list(vocab.encode(text)) + [1]  # HF appends EOS, seqio's feature does too
      if 2 not in ids:  # HF drops <unk> when skipping special tokens, seqio writes ' ⁇ '
        assert tok.decode(ids, skip_special_tokens=True) == vocab.decode(ids)


def test_tokenizer_extra_ids_and_size_errors(tmp_path):
  spm = _spm(tmp_path)
  n = hf_export.sentencepiece_pieces(spm)
  hf_export.write_tokenizer(spm, str(tmp_path / "a"), vocab_size=128, extra_ids=3)
  tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "a"))
  assert len(tok) == n + 3
  assert tok.convert_tokens_to_ids("<extra_id_0>") == n + 2  # T5's order, as seqio's extra ids
  with pytest.raises(UserFacingError, match="do not fit"):
    hf_export.write_tokenizer(spm, str(tmp_path / "b"), vocab_size=n + 2, extra_ids=3)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["legacy", "orbax"])
def test_t5x_fixture_through_the_cli(tmp_path, t5x_dir, expected, fmt):
  """`recsaver export --hf` of a real T5X checkpoint: from_pretrained's logits are T5X's own."""
  out = tmp_path / "hf"
  cmd = [sys.executable, "-m", "recsaver_t5x.cli", "export", "--hf",
         "--model-dir", str(t5x_dir / fmt / "checkpoint_40"),
         "--model-config", str(t5x_dir / "config.json"),
         "--vocabulary", str(t5x_dir / "spm.model"), "--out", str(out)]
  env = dict(os.environ, PYTHONPATH=str(REPO))
  res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
  assert res.returncode == 0, res.stderr[-2000:]
  assert json.loads(res.stdout.strip().splitlines()[-1])["step"] == 40
  logits = _hf_logits(out, expected["encoder_input_tokens"], expected["decoder_input_tokens"])
  valid = expected["decoder_loss_weights"] > 0
  assert np.abs(logits - expected["logits"])[valid].max() <= 1e-4
  for cls in (transformers.AutoTokenizer, transformers.T5Tokenizer,
              transformers.T5TokenizerFast):  # no user-defined pieces: T5's own tokenizer class
    tok = cls.from_pretrained(str(out))
    for i in range(2):
      text = str(expected["spm_texts"][i])
      assert tok(text).input_ids == expected[f"spm_ids_{i}"].tolist() + [1]
  # a vocabulary too large for the model's rows: one line, no traceback
  bad = subprocess.run(cmd[:-2] + ["--extra-ids", "100", "--out", str(tmp_path / "bad")],
                       env=env, capture_output=True, text=True, cwd=REPO)
  assert bad.returncode == 2 and "do not fit" in bad.stderr and "Traceback" not in bad.stderr
