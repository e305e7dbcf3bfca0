"""Model FLOPs of a T5 training step (for MFU) and the device's measured matmul peak.

MFU = model FLOPs per second / peak FLOPs per second, where model FLOPs count the matrix
multiplications of forward + backward (3 x forward; no rematerialisation, no elementwise ops),
as in the PaLM paper's definition, over the padded shapes actually computed. The peak is
measured here (a large matmul timed on the device), not taken from a datasheet.
"""
from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.model.config import T5Config


def forward_flops(config: T5Config, batch: int, input_length: int, target_length: int) -> float:
  """Matmul FLOPs (2 x multiply-adds) of one forward pass over a padded batch."""
  d, h, dk, f, v = config.emb_dim, config.num_heads, config.head_dim, config.mlp_dim, config.vocab_size
  hd = h * dk
  n_in = len(config.mlp_activations)  # gated MLP: one input projection per activation
  mlp = n_in * d * f + f * d
  enc_token = config.num_encoder_layers * (4 * d * hd + 2 * input_length * hd + mlp)
  dec_token = config.num_decoder_layers * (
      4 * d * hd + 2 * target_length * hd      # self-attention
      + 2 * d * hd + 2 * input_length * hd      # cross-attention: q, out, scores, values
      + mlp) + d * v                            # + logits
  cross_kv = config.num_decoder_layers * 2 * d * hd  # keys/values of each encoder token
  macs = batch * (input_length * (enc_token + cross_kv) + target_length * dec_token)
  return 2.0 * macs


def train_step_flops(config: T5Config, batch: int, input_length: int, target_length: int) -> float:
  return 3.0 * forward_flops(config, batch, input_length, target_length)


@functools.lru_cache(maxsize=8)
def measured_matmul_peak(dtype: str = "float32", n: int = 0, repeats: int = 5,
                         device_index: int = 0) -> float:
  """FLOP/s of the best of `repeats` timed n x n matmuls on one device (compiled, warm).

  n defaults to 1024 on CPU (saturates its vector units in well under a second) and 8192 on
  accelerators (large enough to reach their matmul-unit peak).
  """
  device = jax.local_devices()[device_index]
  n = n or (1024 if device.platform == "cpu" else 8192)
  rng = np.random.default_rng(0)
  a = jax.device_put(jnp.asarray(rng.standard_normal((n, n), np.float32), dtype), device)
  b = jax.device_put(jnp.asarray(rng.standard_normal((n, n), np.float32), dtype), device)
  # Chain a few matmuls per call so dispatch overhead does not count.
  chain = 4

  @jax.jit
  def run(x, y):
    for _ in range(chain):
      x = (x @ y) * jnp.asarray(1.0 / n, x.dtype)
    return x
  run(a, b).block_until_ready()
  best = float("inf")
  for _ in range(repeats):
    t = time.perf_counter()
    run(a, b).block_until_ready()
    best = min(best, time.perf_counter() - t)
  return chain * 2.0 * n ** 3 / best
