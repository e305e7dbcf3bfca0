"""SentencePiece vocabularies: Flan-T5's file through seqio, or one trained offline on our data."""
from __future__ import annotations

import os
from typing import Iterable, Optional, Sequence

from recsaver_t5x.errors import InputError, UserFacingError

REASON_MARKER = '### Reason ###'
RATING_MARKER = '### Rating ###'
RATING_DIGITS = ('1', '2', '3', '4', '5')
# T5 conventions.
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


def get_vocabulary(spm_path: str, extra_ids: int = 0):
  """seqio.SentencePieceVocabulary for a SentencePiece model file (e.g. Flan-T5's)."""
  import seqio  # pylint: disable=import-outside-toplevel
  if not os.path.isfile(spm_path):
    raise InputError(spm_path, 'SentencePiece model file not found')
  return seqio.SentencePieceVocabulary(spm_path, extra_ids=extra_ids)


def _as_piece(symbol: str) -> str:
  # SentencePiece matches user-defined symbols after whitespace is escaped to U+2581, so a
  # multi-word marker must be given with that character to become one piece.
  return symbol.replace(' ', '\u2581')


def train_sentencepiece(texts: Iterable[str], model_prefix: str, vocab_size: int,
                        user_defined_symbols: Sequence[str] = (REASON_MARKER, RATING_MARKER)
                        + RATING_DIGITS,
                        model_type: str = 'unigram', character_coverage: float = 1.0,
                        input_sentence_size: int = 2_000_000, seed: int = 0,
                        num_threads: Optional[int] = None) -> str:
  """Trains a T5-convention SentencePiece model (pad 0, eos 1, unk 2, no bos); returns its path.

  The rating markers and the digits 1-5 are user-defined symbols, so each always encodes as
  one known piece (a digit after a space encodes as '▁', digit). `vocab_size` is a soft
  limit: a small corpus yields fewer pieces rather than an error.
  """
  import sentencepiece as spm  # pylint: disable=import-outside-toplevel
  if vocab_size < len(user_defined_symbols) + 4:
    raise UserFacingError(f'vocab_size {vocab_size} is too small')
  os.makedirs(os.path.dirname(os.path.abspath(model_prefix)), exist_ok=True)
  sentences = (t.replace('\n', ' ').strip() for t in texts)
  sentences = (t for t in sentences if t)
  if hasattr(spm, 'set_random_generator_seed'):
    spm.set_random_generator_seed(seed)
  try:
    spm.SentencePieceTrainer.train(
        sentence_iterator=sentences, model_prefix=model_prefix, vocab_size=vocab_size,
        model_type=model_type, pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        user_defined_symbols=[_as_piece(s) for s in user_defined_symbols],
        character_coverage=character_coverage, hard_vocab_limit=False,
        input_sentence_size=input_sentence_size, shuffle_input_sentence=True,
        max_sentence_length=1 << 16, num_threads=num_threads or os.cpu_count() or 1,
        minloglevel=2)
  except RuntimeError as e:
    raise UserFacingError(f'SentencePiece training failed: {e}') from e
  path = model_prefix + '.model'
  proc = spm.SentencePieceProcessor(model_file=path)
  for symbol in user_defined_symbols:
    pieces = [p for p in proc.encode(symbol, out_type=str) if p != '\u2581']
    if pieces != [_as_piece(symbol)]:
      raise UserFacingError(f'trained vocabulary does not keep {symbol!r} as one piece: {pieces}')
  return path
