"""Offline SentencePiece training and rating-token probabilities (checked against an
independent per-row computation and against transformers' PyTorch T5)."""
import random

import jax
import numpy as np
import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import rating_probs, vocab as vocab_lib
from recsaver_t5x.model.network import Transformer

from .conftest import small_config

WORDS = ('the user likes moisturizing creams and gentle cleansers but dislikes strong scent '
         'this new lotion is fragrance free similar to past purchases rated highly price was '
         'fair quality good packaging broke once would buy again').split()


def _corpus(n=400, seed=0):
  rnd = random.Random(seed)
  texts = []
  for _ in range(n):
    reason = ' '.join(rnd.choices(WORDS, k=rnd.randint(8, 25)))
    texts.append(f'{vocab_lib.REASON_MARKER} {reason}. {vocab_lib.RATING_MARKER} '
                 f'{rnd.randint(1, 5)}')
    texts.append(f'Title: {" ".join(rnd.choices(WORDS, k=5))} Rating: {rnd.randint(1, 5)}.0')
  return texts


@pytest.fixture(scope='module')
def trained_vocab(tmp_path_factory):
  prefix = tmp_path_factory.mktemp('spm') / 'spm'
  path = vocab_lib.train_sentencepiece(_corpus(), str(prefix), vocab_size=120, num_threads=1)
  return vocab_lib.get_vocabulary(path)


def test_trained_vocabulary_conventions(trained_vocab):
  sp = trained_vocab.tokenizer
  assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
  assert trained_vocab.vocab_size <= small_config().vocab_size
  for marker in (vocab_lib.REASON_MARKER, vocab_lib.RATING_MARKER):
    pieces = [p for p in sp.encode(marker, out_type=str) if p != '\u2581']
    assert len(pieces) == 1
  for d in vocab_lib.RATING_DIGITS:
    ids = trained_vocab.encode(d)
    assert 2 not in ids and sp.id_to_piece(ids[-1]) == d
  text = f'{vocab_lib.REASON_MARKER} the user likes gentle cleansers. {vocab_lib.RATING_MARKER} 4'
  assert trained_vocab.decode(trained_vocab.encode(text)) == text


def test_train_sentencepiece_rejects_tiny_vocab(tmp_path):
  with pytest.raises(UserFacingError):
    vocab_lib.train_sentencepiece(_corpus(10), str(tmp_path / 'x'), vocab_size=5)


def test_rating_token_ids(trained_vocab, t5x_dir):
  ids = rating_probs.rating_token_ids(trained_vocab)
  assert len(set(ids.digit_ids)) == 5
  assert [trained_vocab.tokenizer.id_to_piece(i) for i in ids.digit_ids] == list('12345')
  assert [trained_vocab.tokenizer.id_to_piece(i) for i in ids.prefix_ids] == ['\u2581']
  assert len(ids.match_ids) == 1
  # One-piece digits ('▁4', as in Flan-T5's vocabulary) need no shared prefix.
  fixture_vocab = vocab_lib.get_vocabulary(str(t5x_dir / 'spm.model'))
  one_piece = rating_probs.rating_token_ids(fixture_vocab, marker='the dog')
  assert one_piece.prefix_ids == () and len(set(one_piece.digit_ids)) == 5
  assert [fixture_vocab.tokenizer.id_to_piece(i) for i in one_piece.digit_ids] == [
      '\u2581' + d for d in '12345']
  # A marker the vocabulary cannot spell is refused.
  with pytest.raises(UserFacingError):
    rating_probs.rating_token_ids(fixture_vocab, marker='rating:')  # ':' is unknown there


def _direct_probs(config, params, enc_row, prefix, digit_ids):
  """Independent: one unpadded sequence, full-vocabulary softmax, then renormalise."""
  dec_in = np.array([[0] + prefix], np.int32)
  logits = np.asarray(jax.jit(lambda p, *a: Transformer(config).apply(
      {'params': p}, *a, enable_dropout=False))(params, enc_row[None], dec_in,
                                                np.ones_like(dec_in)))
  last = logits[0, -1].astype(np.float64)
  p = np.exp(last - last.max())
  p = p / p.sum()
  d = p[list(digit_ids)]
  return d / d.sum(), last


def test_rating_probabilities(trained_vocab, small_params):
  config = small_config()
  vocab = trained_vocab
  rng = np.random.default_rng(0)
  enc = np.zeros((4, 16), np.int32)
  for i, n in enumerate([16, 9, 12, 5]):
    enc[i, :n] = rng.integers(3, vocab.vocab_size, n)
  enc[:, :1] = np.maximum(enc[:, :1], 3)
  length = 24
  texts = [
      f'{vocab_lib.REASON_MARKER} the user likes creams. {vocab_lib.RATING_MARKER} 4',
      f'{vocab_lib.REASON_MARKER} the user dislikes strong scent',          # no marker
      f'{vocab_lib.REASON_MARKER} fair price {vocab_lib.RATING_MARKER}3 good',  # no space
      f'{vocab_lib.REASON_MARKER} ' + ' '.join(['quality'] * 40),          # cut at length
  ]
  decoded = np.zeros((4, length), np.int32)
  for i, t in enumerate(texts):
    ids = (list(vocab.encode(t)) + [1])[:length]
    decoded[i, :len(ids)] = ids
  tokens = rating_probs.rating_token_ids(vocab)
  dist = rating_probs.rating_distribution(config, small_params, enc, decoded, vocab)
  probs, n_appended = rating_probs.rating_probabilities(Transformer(config), small_params, enc,
                                                        decoded, vocab)
  np.testing.assert_array_equal(probs, dist.probs)
  from recsaver_t5x.model import decoding
  shared = rating_probs.rating_distribution(config, small_params, enc, decoded, vocab,
                                            encoded=decoding.encode(config, small_params, enc))
  np.testing.assert_allclose(shared.probs, probs, atol=1e-6)
  assert n_appended == 2 and dist.marker_appended.tolist() == [False, True, False, True]
  np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
  assert (probs > 0).all()

  # Expected prefixes spelled out from text, independently of rating_prefixes().
  def enc_text(t):
    return list(vocab.encode(t))
  rating_prefix = enc_text(f'{vocab_lib.RATING_MARKER} 4')[:-1]  # marker + '▁'
  expected_prefixes = [
      enc_text(texts[0])[:-1],
      enc_text(texts[1]) + rating_prefix,
      enc_text(f'{vocab_lib.REASON_MARKER} fair price {vocab_lib.RATING_MARKER}')
      + list(tokens.prefix_ids),
      list(decoded[3]) + rating_prefix,
  ]
  hf_rows = []
  for i, prefix in enumerate(expected_prefixes):
    prefix = [int(t) for t in prefix]
    direct, last = _direct_probs(config, small_params, enc[i], prefix, tokens.digit_ids)
    np.testing.assert_allclose(probs[i], direct, atol=1e-5)
    np.testing.assert_allclose(dist.logits[i], last[list(tokens.digit_ids)], atol=1e-4)
    hf_rows.append((i, prefix))
  assert np.allclose(dist.expected_rating(), probs @ np.arange(1, 6))

  # And against transformers' PyTorch T5 on the same weights.
  torch = pytest.importorskip('torch')
  from recsaver_t5x.model.checkpoints import to_hf_model
  hf = to_hf_model(jax.device_get(small_params), config)
  for i, prefix in hf_rows:
    with torch.no_grad():
      valid = enc[i] > 0
      out = hf(input_ids=torch.tensor(enc[i][valid][None], dtype=torch.long),
               decoder_input_ids=torch.tensor([[0] + prefix], dtype=torch.long))
    last = out.logits[0, -1].numpy()[list(tokens.digit_ids)].astype(np.float64)
    p = np.exp(last - last.max())
    np.testing.assert_allclose(probs[i], p / p.sum(), atol=1e-4)


@pytest.mark.parametrize('text,want', [
    (f'{vocab_lib.REASON_MARKER} price fair {vocab_lib.RATING_MARKER} 2 quality good '
     f'{vocab_lib.RATING_MARKER} 4', 4),
    (f'{vocab_lib.RATING_MARKER} 5 {vocab_lib.REASON_MARKER} lotion {vocab_lib.RATING_MARKER} 1', 1),
    (f'{vocab_lib.REASON_MARKER} cream {vocab_lib.RATING_MARKER} 3', 3),
])
def test_probabilities_and_parser_read_the_same_marker(trained_vocab, text, want):
  """One rule: the rating-token position is right after the LAST marker, where the parser reads."""
  from recsaver_t5x.answer import parse_answer
  vocab = trained_vocab
  tokens = rating_probs.rating_token_ids(vocab)
  ids = list(vocab.encode(text)) + [1]
  decoded = np.zeros((1, len(ids) + 4), np.int32)
  decoded[0, :len(ids)] = ids
  parsed = parse_answer(vocab.decode(ids[:-1]))
  assert parsed.rating == want
  (prefix,), appended = rating_probs.rating_prefixes(decoded, tokens)
  assert not appended[0]
  # The decoded token at the read position is the digit the parser returned.
  assert ids[:len(prefix)] == prefix
  assert ids[len(prefix)] == tokens.digit_ids[want - 1]
