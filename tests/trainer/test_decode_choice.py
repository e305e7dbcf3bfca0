"""`recsaver evaluate --decode`: an explicit choice between greedy and T5X's beam search."""
import jax
import numpy as np
import pytest

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import decoding
from recsaver_t5x.model.config import get_config
from recsaver_t5x.model.network import Transformer, init_params
from recsaver_t5x.trainer.decode_choice import DecodeChoice, parse_decode


def test_parse_decode():
  assert parse_decode("greedy") == DecodeChoice("greedy")
  assert parse_decode(" Beam:4 ") == DecodeChoice("beam", 4)
  assert str(parse_decode("beam:2")) == "beam:2" and str(parse_decode("greedy")) == "greedy"
  for bad in ("beam", "beam:0", "beam:x", "sample", ""):
    with pytest.raises(UserFacingError, match="--decode: expected 'greedy' or 'beam:K'"):
      parse_decode(bad)


def test_choices_call_the_named_decoder():
  config = get_config("tiny", vocab_size=64, emb_dim=16, head_dim=4, mlp_dim=32,
                      num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
  params = init_params(config, jax.random.PRNGKey(0))
  model = Transformer(config)
  inputs = np.random.default_rng(0).integers(2, 64, size=(3, 7)).astype(np.int32)
  greedy = parse_decode("greedy").decode(model, params, inputs, 6)
  np.testing.assert_array_equal(greedy, decoding.greedy_decode(model, params, inputs, 6)[0])
  beam = parse_decode("beam:3").decode(model, params, inputs, 6)
  np.testing.assert_array_equal(beam, decoding.beam_search(model, params, inputs, 6,
                                                           num_beams=3)[0])
