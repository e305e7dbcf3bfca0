"""Export to a Hugging Face directory: `T5ForConditionalGeneration.from_pretrained` loads it.

The files follow the layout of the published checkpoints, which transformers 4 and 5 both read:
a separate output head (T5 v1.1 / Flan-T5: `tie_word_embeddings: false` and `lm_head.weight`)
or the embedding with the d_model**-0.5 rescale (T5 v1.0: `tie_word_embeddings: true`, no
`lm_head.weight`). The SentencePiece model becomes a T5 tokenizer (`spiece.model` plus
`tokenizer.json`, written by transformers itself).
"""
from __future__ import annotations

import json
import os
import shutil
from typing import Any, Optional

import numpy as np

from recsaver_t5x.errors import InputError, UserFacingError
from recsaver_t5x.model import checkpoints
from recsaver_t5x.model.config import T5Config

# Flan-T5's vocabulary: 32000 SentencePiece pieces plus 100 sentinel ids in a 32128-row model.
FLAN_PIECES, FLAN_EXTRA_IDS = 32000, 100


def hf_config(config: T5Config) -> dict:
  """The `config.json` of the exported model."""
  import transformers  # pylint: disable=import-outside-toplevel
  d = checkpoints.hf_config_dict(config)
  d.pop('scale_decoder_outputs')  # transformers 5 derives it from tie_word_embeddings
  if d['is_gated_act'] and config.mlp_activations[0] == 'gelu_exact':
    # transformers reads 'gated-gelu' as the tanh approximation and has no gated erf GELU.
    raise UserFacingError('a gated MLP with exact (erf) GELU has no transformers T5Config')
  if d['is_gated_act'] and d['dense_act_fn'] == 'gelu_new':
    d['feed_forward_proj'] = 'gated-gelu'  # as the published Flan-T5 configs say it
  d.update(model_type='t5', architectures=['T5ForConditionalGeneration'],
           torch_dtype='float32', transformers_version=transformers.__version__)
  return d


def write_model(params: Any, config: T5Config, out_dir: str, dtype: str = 'float32') -> None:
  """`config.json` and `model.safetensors` of `params` in `out_dir`."""
  import torch  # pylint: disable=import-outside-toplevel
  from safetensors.torch import save_file  # pylint: disable=import-outside-toplevel
  torch_dtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16}.get(dtype)
  if torch_dtype is None:
    raise UserFacingError(f'--dtype {dtype!r}: use float32 or bfloat16')
  state = checkpoints.to_hf_state_dict(params, config)
  # aliases of shared.weight are not stored (transformers ties them on load)
  state.pop('encoder.embed_tokens.weight')
  state.pop('decoder.embed_tokens.weight')
  tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(torch_dtype)
             for k, v in state.items()}
  os.makedirs(out_dir, exist_ok=True)
  save_file(tensors, os.path.join(out_dir, 'model.safetensors'), metadata={'format': 'pt'})
  cfg = hf_config(config)
  cfg['torch_dtype'] = dtype
  with open(os.path.join(out_dir, 'config.json'), 'w', encoding='utf-8') as f:
    json.dump(cfg, f, indent=2, sort_keys=True)
  with open(os.path.join(out_dir, 'generation_config.json'), 'w', encoding='utf-8') as f:
    json.dump({'decoder_start_token_id': 0, 'eos_token_id': 1, 'pad_token_id': 0}, f, indent=2)


def sentencepiece_pieces(spm_path: str) -> int:
  import sentencepiece as spm  # pylint: disable=import-outside-toplevel
  proc = spm.SentencePieceProcessor()
  try:
    proc.Load(spm_path)
  except (OSError, RuntimeError) as e:
    raise InputError(spm_path, f'not a SentencePiece model: {e}') from None
  return int(proc.GetPieceSize())


def write_tokenizer(spm_path: str, out_dir: str, vocab_size: int,
                    extra_ids: Optional[int] = None) -> int:
  """A T5 tokenizer of `spm_path` in `out_dir` (slow and fast files); returns its extra ids.

  `extra_ids` None: Flan-T5's 100 sentinels for its 32000-piece vocabulary (when the model has
  rows for them), else none, as seqio's SentencePieceVocabulary of our tasks.
  """
  import transformers  # pylint: disable=import-outside-toplevel
  pieces = sentencepiece_pieces(spm_path)
  if extra_ids is None:
    extra_ids = FLAN_EXTRA_IDS if (pieces == FLAN_PIECES
                                   and vocab_size >= FLAN_PIECES + FLAN_EXTRA_IDS) else 0
  if pieces + extra_ids > vocab_size:
    raise UserFacingError(f'{spm_path}: {pieces} pieces + {extra_ids} extra ids do not fit the '
                          f"model's {vocab_size} embedding rows (wrong vocabulary?)")
  # transformers converts `spiece.model` itself (slow -> fast), as for the published models;
  # save_pretrained then adds `tokenizer.json` next to it.
  os.makedirs(out_dir, exist_ok=True)
  shutil.copyfile(spm_path, os.path.join(out_dir, 'spiece.model'))
  with open(os.path.join(out_dir, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
    json.dump({'tokenizer_class': 'T5Tokenizer', 'extra_ids': extra_ids, 'eos_token': '</s>',
               'unk_token': '<unk>', 'pad_token': '<pad>', 'legacy': False,
               'model_max_length': 1 << 20}, f, indent=2)
  tok = transformers.AutoTokenizer.from_pretrained(out_dir)
  if len(tok) != pieces + extra_ids:
    raise UserFacingError(f'{spm_path}: transformers made a tokenizer of {len(tok)} ids, '
                          f'expected {pieces} + {extra_ids}')
  tok.save_pretrained(out_dir)
  user = _user_defined_ids(spm_path)
  if user:
    _match_sentencepiece(out_dir, spm_path, user)
  return extra_ids


def _user_defined_ids(spm_path: str) -> set:
  from sentencepiece import sentencepiece_model_pb2 as pb  # pylint: disable=import-outside-toplevel
  proto = pb.ModelProto()
  with open(spm_path, 'rb') as f:
    proto.ParseFromString(f.read())
  return {i for i, piece in enumerate(proto.pieces)
          if piece.type == pb.ModelProto.SentencePiece.USER_DEFINED}


def _match_sentencepiece(out_dir: str, spm_path: str, user: set) -> None:
  """Makes `tokenizer.json` segment like sentencepiece when the model has user-defined pieces.

  Our vocabularies keep `### Rating ###` and the digits as user-defined pieces. transformers'
  T5 conversion makes them added tokens matched before the space handling and splits words on
  whitespace first, so `### Rating ###` and " 4" are split differently from training. Here the
  pieces stay in the Unigram vocabulary (score 0: Viterbi prefers them, as sentencepiece's
  prefix matcher does) and the whole text is one sequence, with sentencepiece's own whitespace
  rules. transformers' `T5Tokenizer` class rebuilds the T5 pipeline, so the tokenizer class
  becomes `PreTrainedTokenizerFast` (what `AutoTokenizer` loads).
  """
  from sentencepiece import sentencepiece_model_pb2 as pb  # pylint: disable=import-outside-toplevel
  proto = pb.ModelProto()
  with open(spm_path, 'rb') as f:
    proto.ParseFromString(f.read())
  norm = proto.normalizer_spec
  path = os.path.join(out_dir, 'tokenizer.json')
  with open(path, encoding='utf-8') as f:
    tj = json.load(f)
  tj['added_tokens'] = [t for t in tj['added_tokens'] if t['id'] not in user]
  steps = [tj['normalizer']] if tj.get('normalizer') else []
  if norm.remove_extra_whitespaces:
    steps += [{'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '},
              {'type': 'Strip', 'strip_left': True, 'strip_right': True}]
  tj['normalizer'] = {'type': 'Sequence', 'normalizers': steps}
  tj['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '\u2581', 'split': False,
                         'prepend_scheme': 'always' if norm.add_dummy_prefix else 'never'}
  with open(path, 'w', encoding='utf-8') as f:
    json.dump(tj, f, ensure_ascii=False)
  cfg_path = os.path.join(out_dir, 'tokenizer_config.json')
  with open(cfg_path, encoding='utf-8') as f:
    cfg = json.load(f)
  cfg['tokenizer_class'] = 'PreTrainedTokenizerFast'
  # transformers re-adds what this lists as added tokens on load
  decoder = cfg.get('added_tokens_decoder', {})
  cfg['added_tokens_decoder'] = {k: v for k, v in decoder.items() if int(k) not in user}
  pieces = {p.piece for i, p in enumerate(proto.pieces) if i in user}
  for key in ('extra_special_tokens', 'additional_special_tokens'):
    if isinstance(cfg.get(key), list):
      cfg[key] = [t for t in cfg[key] if t not in pieces]
  with open(cfg_path, 'w', encoding='utf-8') as f:
    json.dump(cfg, f, indent=2)


def export_hf(params: Any, config: T5Config, out_dir: str, spm_path: Optional[str],
              dtype: str = 'float32', extra_ids: Optional[int] = None) -> dict:
  """Writes model (and tokenizer, with `spm_path`) into `out_dir`; returns a summary."""
  write_model(params, config, out_dir, dtype)
  summary = {'out_dir': os.path.abspath(out_dir), 'dtype': dtype,
             'head': 'tied+rescaled' if config.logits_via_embedding else 'separate lm_head'}
  if spm_path:
    summary['extra_ids'] = write_tokenizer(spm_path, out_dir, config.vocab_size, extra_ids)
  return summary
