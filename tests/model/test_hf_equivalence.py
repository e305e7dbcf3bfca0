"""Equality with transformers' PyTorch T5ForConditionalGeneration on random small configs."""
import json

import jax
import numpy as np
import pytest

from recsaver_t5x.model import checkpoints, decoding
from recsaver_t5x.model.network import Transformer

from .conftest import random_tokens

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')

# Random configs: shapes where q/k/v width != d_model, odd sizes, non-default buckets,
# non-gated ReLU (T5 v1.0 style) and exact GELU.
HF_CONFIGS = [
    dict(vocab_size=96, d_model=16, d_kv=8, d_ff=32, num_layers=2, num_decoder_layers=3,
         num_heads=4, feed_forward_proj='gated-gelu'),
    dict(vocab_size=75, d_model=24, d_kv=5, d_ff=40, num_layers=1, num_decoder_layers=2,
         num_heads=3, feed_forward_proj='gated-gelu', relative_attention_num_buckets=8,
         relative_attention_max_distance=20, layer_norm_epsilon=1e-5),
    dict(vocab_size=64, d_model=12, d_kv=4, d_ff=20, num_layers=2, num_decoder_layers=2,
         num_heads=2, feed_forward_proj='relu'),
    dict(vocab_size=64, d_model=12, d_kv=6, d_ff=20, num_layers=2, num_decoder_layers=1,
         num_heads=2, feed_forward_proj='gated-gelu', dense_act_fn='gelu'),
]


def _hf_model(kwargs, seed, untie=True):
  torch.manual_seed(seed)
  cfg = transformers.T5Config(dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0,
                              eos_token_id=1, tie_word_embeddings=False, **kwargs)
  model = transformers.T5ForConditionalGeneration(cfg).eval()
  with torch.no_grad():
    # Trained-model-like scales (logits of magnitude ~10, like the T5X fixture): unit
    # embeddings, 1/sqrt(fan_in) matrices, norm scales around 1, relpos biases around 0.
    for name, p in model.named_parameters():
      if 'layer_norm' in name:
        p.uniform_(0.5, 1.5)
      elif 'relative_attention_bias' in name:
        p.normal_(0.0, 1.0)
      elif name == 'shared.weight':
        p.normal_(0.0, 1.0)
      else:
        p.normal_(0.0, p.shape[1] ** -0.5)
  if untie:  # transformers 5 ties lm_head to shared regardless of the config: untie by hand
    model.lm_head.weight = torch.nn.Parameter(
        torch.randn_like(model.shared.weight) * kwargs['d_model'] ** -0.5 * 3)
  return model


def _batch(seed, vocab):
  rng = np.random.default_rng(seed)
  enc = random_tokens(rng, [7, 11, 4, 9], 11, vocab)
  tgt = random_tokens(rng, [5, 8, 2, 6], 8, vocab)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))
  return enc, dec_in, tgt


def _hf_logits(model, enc, dec_in):
  with torch.no_grad():
    out = model(input_ids=torch.tensor(enc, dtype=torch.long),
                attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                decoder_input_ids=torch.tensor(dec_in, dtype=torch.long))
  return out.logits.numpy(), out.encoder_last_hidden_state.numpy()


@pytest.mark.parametrize('idx', range(len(HF_CONFIGS)))
def test_logits_match_hf_torch(tmp_path, idx):
  kwargs = HF_CONFIGS[idx]
  hf = _hf_model(kwargs, seed=idx)
  hf.save_pretrained(tmp_path)
  config, params = checkpoints.load_hf_checkpoint(str(tmp_path))
  assert config.num_decoder_layers == kwargs['num_decoder_layers']
  assert not config.logits_via_embedding
  enc, dec_in, tgt = _batch(idx, kwargs['vocab_size'])
  ours = np.asarray(jax.jit(lambda p, *a: Transformer(config).apply(
      {'params': p}, *a, enable_dropout=False))(params, enc, dec_in, tgt))
  encoded = np.asarray(jax.jit(lambda p, e: Transformer(config).apply(
      {'params': p}, e, enable_dropout=False, method=Transformer.encode))(params, enc))
  theirs, hf_encoded = _hf_logits(hf, enc, dec_in)
  valid = tgt > 0
  assert 3.0 < np.abs(theirs[valid]).max() < 40.0  # a meaningful comparison
  assert np.abs(ours - theirs)[valid].max() <= 1e-4
  assert np.abs(encoded - hf_encoded)[enc > 0].max() <= 1e-4


def test_pytorch_bin_and_flan_style_config(tmp_path):
  """A `pytorch_model.bin` directory with a Flan-T5-style config.json (no dense_act_fn)."""
  kwargs = HF_CONFIGS[0]
  hf = _hf_model(kwargs, seed=7)
  torch.save(hf.state_dict(), tmp_path / 'pytorch_model.bin')
  flan_style = dict(kwargs, model_type='t5', tie_word_embeddings=False, dropout_rate=0.1,
                    decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
  (tmp_path / 'config.json').write_text(json.dumps(flan_style))
  config, params = checkpoints.load_hf_checkpoint(str(tmp_path))
  assert config.mlp_activations == ('gelu', 'linear') and config.dropout_rate == 0.1
  enc, dec_in, tgt = _batch(7, kwargs['vocab_size'])
  ours = np.asarray(Transformer(config).apply({'params': params}, enc, dec_in, tgt,
                                              enable_dropout=False))
  theirs, _ = _hf_logits(hf, enc, dec_in)
  assert np.abs(ours - theirs)[tgt > 0].max() <= 1e-4


def test_tied_head_with_rescale(tmp_path):
  """T5 v1.0 style: no lm_head in the file, tied to the embedding with the d**-0.5 rescale."""
  kwargs = HF_CONFIGS[2]
  hf = _hf_model(kwargs, seed=3, untie=False)
  hf.config.scale_decoder_outputs = True
  state = {k: v for k, v in hf.state_dict().items() if k != 'lm_head.weight'}
  torch.save(state, tmp_path / 'pytorch_model.bin')
  (tmp_path / 'config.json').write_text(json.dumps(dict(kwargs, tie_word_embeddings=True)))
  config, params = checkpoints.load_hf_checkpoint(str(tmp_path))
  assert config.logits_via_embedding
  assert 'logits_dense' not in params['decoder']
  enc, dec_in, tgt = _batch(3, kwargs['vocab_size'])
  ours = np.asarray(Transformer(config).apply({'params': params}, enc, dec_in, tgt,
                                              enable_dropout=False))
  theirs, _ = _hf_logits(hf, enc, dec_in)
  assert np.abs(ours - theirs)[tgt > 0].max() <= 1e-4


def test_greedy_decode_matches_hf_generate(tmp_path):
  # Equal stack depths: transformers 5's generate cache sizes itself by `num_layers` and
  # fails when `num_decoder_layers` is larger.
  kwargs = dict(HF_CONFIGS[0], num_decoder_layers=2)
  hf = _hf_model(kwargs, seed=11)
  hf.save_pretrained(tmp_path)
  config, params = checkpoints.load_hf_checkpoint(str(tmp_path))
  enc, _, _ = _batch(11, kwargs['vocab_size'])
  length = 10
  tokens, _ = decoding.greedy_decode(config, params, enc, length)
  with torch.no_grad():
    out = hf.generate(input_ids=torch.tensor(enc, dtype=torch.long),
                      attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                      do_sample=False, num_beams=1, max_new_tokens=length, min_length=0,
                      decoder_start_token_id=0, eos_token_id=1, pad_token_id=0).numpy()
  theirs = np.zeros((enc.shape[0], length), np.int32)
  theirs[:, :out.shape[1] - 1] = out[:, 1:]
  np.testing.assert_array_equal(np.asarray(tokens), theirs)


def test_round_trip_to_hf(tmp_path):
  """Our params -> HF model (to_hf_model) -> same logits."""
  kwargs = HF_CONFIGS[1]
  hf = _hf_model(kwargs, seed=5)
  hf.save_pretrained(tmp_path)
  config, params = checkpoints.load_hf_checkpoint(str(tmp_path))
  back = checkpoints.to_hf_model(params, config)
  enc, dec_in, _ = _batch(5, kwargs['vocab_size'])
  a, _ = _hf_logits(hf, enc, dec_in)
  b, _ = _hf_logits(back, enc, dec_in)
  assert np.abs(a - b).max() == 0.0
