"""HF import of every layout transformers 4 and 5 write, against transformers' own reload.

Each directory is written by the installed transformers (`save_pretrained`) or, for the
transformers-4 layouts this version no longer writes, by hand with transformers 4's file
conventions; the reference logits come from `T5ForConditionalGeneration.from_pretrained`.
"""
import functools
import itertools
import json

import jax
import numpy as np
import pytest

from recsaver_t5x.errors import InputError
from recsaver_t5x.model import checkpoints
from recsaver_t5x.model.network import Transformer

from .conftest import random_tokens

torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')
safetensors_torch = pytest.importorskip('safetensors.torch')

BASE = dict(vocab_size=48, d_model=12, d_kv=4, d_ff=20, num_layers=2, num_decoder_layers=2,
            num_heads=3, dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0,
            eos_token_id=1)


@functools.lru_cache(maxsize=None)
def _forward(config):
  return jax.jit(lambda p, *a: Transformer(config).apply({'params': p}, *a, enable_dropout=False))


def _randomise(model, seed, separate_head):
  torch.manual_seed(seed)
  with torch.no_grad():
    for name, p in model.named_parameters():
      if 'layer_norm' in name:
        p.uniform_(0.5, 1.5)
      elif 'relative_attention_bias' in name or name == 'shared.weight':
        p.normal_(0.0, 1.0)
      elif name != 'lm_head.weight':
        p.normal_(0.0, p.shape[1] ** -0.5)
  if separate_head:
    model.lm_head.weight = torch.nn.Parameter(
        torch.randn_like(model.shared.weight) * model.config.d_model ** -0.5 * 3)
  return model.eval()


def _batch(seed, vocab):
  rng = np.random.default_rng(seed)
  enc = random_tokens(rng, [7, 11, 4], 11, vocab)
  tgt = random_tokens(rng, [5, 8, 2], 8, vocab)
  return enc, np.pad(tgt[:, :-1], ((0, 0), (1, 0))), tgt


def _assert_same_logits(model_dir, seed):
  """Our import of `model_dir` vs transformers' reload of it, on a random batch."""
  reloaded = transformers.T5ForConditionalGeneration.from_pretrained(str(model_dir)).eval()
  config, params = checkpoints.load_hf_checkpoint(str(model_dir))
  enc, dec_in, tgt = _batch(seed, BASE['vocab_size'])
  with torch.no_grad():
    theirs = reloaded(input_ids=torch.tensor(enc, dtype=torch.long),
                      attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                      decoder_input_ids=torch.tensor(dec_in, dtype=torch.long)).logits.numpy()
  ours = np.asarray(_forward(config)(params, enc, dec_in, tgt))
  valid = tgt > 0
  assert np.abs(theirs[valid]).max() > 1.0  # a meaningful comparison
  assert np.abs(ours - theirs)[valid].max() <= 1e-4
  return config, reloaded


# tie_word_embeddings as passed to T5Config (None: not passed), scale_decoder_outputs likewise,
# and whether lm_head is a separate matrix in memory when saved.
LAYOUTS = list(itertools.product([None, True, False], [None, True, False], [False, True]))


@pytest.mark.parametrize('tie,scale,separate', LAYOUTS)
def test_every_layout_saved_by_installed_transformers(tmp_path, tie, scale, separate):
  kwargs = dict(BASE, feed_forward_proj='gated-gelu')
  if tie is not None:
    kwargs['tie_word_embeddings'] = tie
  if scale is not None:
    kwargs['scale_decoder_outputs'] = scale
  seed = LAYOUTS.index((tie, scale, separate))
  model = _randomise(transformers.T5ForConditionalGeneration(transformers.T5Config(**kwargs)),
                     seed, separate)
  model.save_pretrained(tmp_path)
  config, reloaded = _assert_same_logits(tmp_path, seed)
  tied_rescaled = (not separate) and reloaded.config.scale_decoder_outputs
  assert config.logits_via_embedding == bool(tied_rescaled)


@pytest.mark.parametrize('proj,act', [('gated-gelu', None), ('gated-gelu', 'gelu'),
                                      ('gated-silu', None), ('relu', None), ('gelu', None),
                                      ('gated-relu', None)])
def test_activations(tmp_path, proj, act):
  """The issue's example: gated-gelu, tie_word_embeddings=False, saved by transformers 5."""
  kwargs = dict(BASE, feed_forward_proj=proj, tie_word_embeddings=False)
  model = transformers.T5ForConditionalGeneration(transformers.T5Config(**kwargs))
  if act is not None:
    model.config.dense_act_fn = act
    model = transformers.T5ForConditionalGeneration(model.config)
  _randomise(model, 3, separate_head=False).save_pretrained(tmp_path)
  _assert_same_logits(tmp_path, 3)


def _write_v4(model_dir, model, tie, with_head, bin_format):
  """A transformers-4 directory: config without `scale_decoder_outputs`, v4 tensor names."""
  model_dir.mkdir(exist_ok=True)
  state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
  if not with_head:
    state.pop('lm_head.weight')
  if bin_format:
    torch.save(state, model_dir / 'pytorch_model.bin')
  else:
    state.pop('encoder.embed_tokens.weight')  # v4 safetensors drop shared aliases
    state.pop('decoder.embed_tokens.weight')
    safetensors_torch.save_file(state, str(model_dir / 'model.safetensors'),
                                metadata={'format': 'pt'})
  cfg = dict(BASE, model_type='t5', architectures=['T5ForConditionalGeneration'],
             feed_forward_proj='gated-gelu', tie_word_embeddings=tie,
             transformers_version='4.46.0')
  (model_dir / 'config.json').write_text(json.dumps(cfg))


@pytest.mark.parametrize('tie,with_head,bin_format', [
    (False, True, False),   # Flan-T5 as published: separate head, no rescale
    (False, True, True),
    (True, False, True),    # T5 v1.0 as published: tied, rescaled
    (True, False, False),
    (True, True, False),    # tied with the head duplicated in the file
])
def test_transformers4_layouts(tmp_path, tie, with_head, bin_format):
  model = transformers.T5ForConditionalGeneration(
      transformers.T5Config(**dict(BASE, feed_forward_proj='gated-gelu')))
  _randomise(model, 5, separate_head=not tie)
  _write_v4(tmp_path, model, tie, with_head, bin_format)
  config, _ = _assert_same_logits(tmp_path, 5)
  assert config.logits_via_embedding == tie


def test_head_of_wrong_shape_is_a_one_line_error(tmp_path):
  model = transformers.T5ForConditionalGeneration(
      transformers.T5Config(**dict(BASE, feed_forward_proj='gated-gelu')))
  state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
  state['lm_head.weight'] = torch.zeros(7, BASE['d_model'])
  torch.save(state, tmp_path / 'pytorch_model.bin')
  (tmp_path / 'config.json').write_text(json.dumps(dict(BASE, tie_word_embeddings=False)))
  with pytest.raises(InputError, match='lm_head.weight'):
    checkpoints.load_hf_checkpoint(str(tmp_path))
