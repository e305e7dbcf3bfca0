"""Fixtures for the model tests: the T5X reference fixture and small random models."""
import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("RECSAVER_SHARED", REPO.parent / "shared"))
T5X_TINY = SHARED / "fixtures" / "t5x_tiny"


@pytest.fixture(scope="session")
def t5x_dir() -> pathlib.Path:
  if not (T5X_TINY / "expected.npz").is_file():
    pytest.fail(f"T5X fixture not found at {T5X_TINY}; set RECSAVER_SHARED")
  return T5X_TINY


@pytest.fixture(scope="session")
def expected(t5x_dir):
  with np.load(t5x_dir / "expected.npz", allow_pickle=False) as f:
    return {k: f[k] for k in f.files}


@pytest.fixture(scope="session")
def fixture_config(t5x_dir):
  from recsaver_t5x.model.config import from_fixture_json
  return from_fixture_json(str(t5x_dir / "config.json"))


@pytest.fixture(scope="session")
def fixture_params(t5x_dir):
  from recsaver_t5x.model.checkpoints import load_t5x_checkpoint
  return load_t5x_checkpoint(str(t5x_dir / "legacy" / "checkpoint_40"))


def random_tokens(rng: np.random.Generator, lengths, width: int, vocab: int) -> np.ndarray:
  """Rows of random ids in [3, vocab) with the given lengths, EOS (1) last, padded with 0."""
  out = np.zeros((len(lengths), width), np.int32)
  for i, n in enumerate(lengths):
    out[i, :n - 1] = rng.integers(3, vocab, size=n - 1)
    out[i, n - 1] = 1
  return out


def small_config():
  """The one random-weights config shared by the model tests (one compile of init)."""
  from recsaver_t5x.model.config import T5Config
  return T5Config(vocab_size=128, emb_dim=16, num_heads=4, head_dim=6, mlp_dim=24,
                  num_encoder_layers=2, num_decoder_layers=2, dropout_rate=0.0,
                  relative_attention_num_buckets=8, relative_attention_max_distance=16)


@pytest.fixture(scope="session")
def small_params():
  import jax
  from recsaver_t5x.model import network
  return network.init_params(small_config(), jax.random.PRNGKey(3))
