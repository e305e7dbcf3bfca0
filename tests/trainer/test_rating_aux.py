"""The in-graph rating probabilities (used by the T5X model) equal the model module's numpy path."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import seqio

from recsaver_t5x.model.config import get_config
from recsaver_t5x.model.network import Transformer, init_params
from recsaver_t5x.model.rating_probs import rating_distribution, rating_prefixes, rating_token_ids
from recsaver_t5x.trainer import rating_aux
from tests.tasks import fakedata


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
  texts = [fakedata.answer(f"likes item {i} a lot", (i % 5) + 1) for i in range(50)]
  return seqio.SentencePieceVocabulary(fakedata.train_spm(str(tmp_path_factory.mktemp("v")),
                                                          texts, vocab_size=120))


def _decodes(vocab, length=20):
  tokens = rating_token_ids(vocab)
  marker = list(tokens.marker_ids)
  words = vocab.encode("likes item a lot")
  rows = [words + marker + list(tokens.prefix_ids) + [tokens.digit_ids[3], 1],   # complete
          words + [1],                                                            # no marker
          words + words + words,                                                  # no EOS
          words + [1] + marker,                                                   # marker after EOS
          marker + [tokens.digit_ids[0], 1],                                      # marker first
          words[:2] + marker]                                                     # ends on marker
  out = np.zeros((len(rows), length), np.int32)
  for i, r in enumerate(rows):
    r = r[:length]
    out[i, :len(r)] = r
    if 1 in r:
      out[i, r.index(1) + 1:] = 0  # T5X: zeros after EOS
  return out, tokens


def test_prefix_batch_equals_numpy_reference(vocab):
  decodes, tokens = _decodes(vocab)
  dec_in, positions, appended = rating_aux.rating_prefix_batch(jnp.asarray(decodes), tokens)
  prefixes, want_appended = rating_prefixes(decodes, tokens)
  np.testing.assert_array_equal(np.asarray(appended), want_appended)
  assert list(want_appended) == [False, True, True, True, False, False]
  for b, p in enumerate(prefixes):
    assert int(positions[b]) == len(p)
    assert np.asarray(dec_in)[b, 1:len(p) + 1].tolist() == p
    assert not np.asarray(dec_in)[b, len(p) + 1:].any() and dec_in[b, 0] == 0


def test_probs_equal_model_rating_distribution(vocab):
  config = get_config("tiny", vocab_size=128, emb_dim=16, head_dim=4, mlp_dim=32,
                      dropout_rate=0.0)
  params = init_params(config, jax.random.PRNGKey(3))
  model = Transformer(config)
  decodes, tokens = _decodes(vocab)
  enc = np.array(jax.random.randint(jax.random.PRNGKey(1), (len(decodes), 12), 3, 100))
  enc[:, 9:] = 0
  want = rating_distribution(model, params, enc, decodes, tokens=tokens)

  def logits_fn(batch):
    return model.apply({"params": params}, batch["encoder_input_tokens"],
                       batch["decoder_input_tokens"], batch["decoder_target_tokens"],
                       enable_dropout=False)
  probs, appended = jax.jit(lambda e, d: rating_aux.rating_probs(logits_fn, e, d, tokens))(
      jnp.asarray(enc), jnp.asarray(decodes))
  np.testing.assert_allclose(np.asarray(probs), want.probs, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(appended), want.marker_appended)


def test_check_vocab_size_refuses_vocab_larger_than_model(tmp_path):
  """RatingEncoderDecoderModel's check (T5X-free): VOCAB_SIZE below the spm size is an error."""
  import types
  from recsaver_t5x.errors import UserFacingError
  spm = fakedata.train_spm(str(tmp_path), [f"word{i} thing{i} rating {i}" for i in range(300)],
                           vocab_size=300)
  vocab = seqio.SentencePieceVocabulary(spm)
  module = types.SimpleNamespace(config=types.SimpleNamespace(vocab_size=384))
  rating_aux.check_vocab_size(module, vocab, vocab)  # 300 <= 384: fine
  module.config.vocab_size = vocab.vocab_size - 1
  with pytest.raises(UserFacingError, match=f"output vocabulary has {vocab.vocab_size} pieces but "
                     f"the model only {vocab.vocab_size - 1} embedding rows"):
    rating_aux.check_vocab_size(module, types.SimpleNamespace(vocab_size=10), vocab)
