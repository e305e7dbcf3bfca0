"""Run as a script under XLA_FLAGS=--xla_force_host_platform_device_count=8: compares the
model on a 4x2 ('data', 'model') mesh with the same model on one device; prints JSON."""
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from recsaver_t5x.model import decoding, network, partitioning
from recsaver_t5x.model.config import T5Config
from recsaver_t5x.model.network import Transformer


def main() -> int:
  assert jax.device_count() == 8, jax.devices()
  cfg = T5Config(vocab_size=128, emb_dim=16, num_heads=4, head_dim=6, mlp_dim=24,
                 num_encoder_layers=2, num_decoder_layers=2, dropout_rate=0.0)
  params = jax.device_get(network.init_params(cfg, jax.random.PRNGKey(0)))
  rng = np.random.default_rng(0)
  enc = np.zeros((8, 10), np.int32)
  tgt = np.zeros((8, 7), np.int32)
  for i in range(8):
    n, m = rng.integers(2, 11), rng.integers(1, 8)
    enc[i, :n] = rng.integers(3, 128, n)
    tgt[i, :m] = rng.integers(3, 128, m)
  dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))

  def loss_fn(p, e, d, t):
    logits = Transformer(cfg).apply({'params': p}, e, d, t, enable_dropout=False)
    lp = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.take_along_axis(lp, t[..., None], -1)[..., 0] * (t > 0)), logits

  step = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
  (ref_loss, ref_logits), ref_grads = step(params, enc, dec_in, tgt)
  ref_tokens, ref_scores = decoding.greedy_decode(cfg, params, enc, 9)
  ref_beam, _ = decoding.beam_search(cfg, params, enc, 9, num_beams=3)

  mesh = partitioning.make_mesh(num_partitions=2)
  shardings = partitioning.param_shardings(cfg, mesh)
  sp = partitioning.shard_params(params, shardings)
  batch = partitioning.shard_batch({'enc': enc, 'dec': dec_in, 'tgt': tgt}, mesh)
  with partitioning.mesh_context(mesh):
    (loss, logits), grads = step(sp, batch['enc'], batch['dec'], batch['tgt'])
    hlo = step.lower(sp, batch['enc'], batch['dec'], batch['tgt']).compile().as_text()
    tokens, scores = decoding.greedy_decode(cfg, sp, batch['enc'], 9)
    beam, _ = decoding.beam_search(cfg, sp, batch['enc'], 9, num_beams=3)

  wi = sp['encoder']['layers_0']['mlp']['wi_0']['kernel']
  emb = sp['token_embedder']['embedding']
  gdiff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
              for a, b in zip(jax.tree.leaves(ref_grads), jax.tree.leaves(grads)))
  print(json.dumps({
      'mesh': dict(mesh.shape),
      'wi_spec': str(wi.sharding.spec), 'wi_shard': list(wi.addressable_shards[0].data.shape),
      'emb_spec': str(emb.sharding.spec),
      'emb_shard': list(emb.addressable_shards[0].data.shape),
      'logits_spec': str(logits.sharding.spec),
      'grad_wi_spec': str(grads['encoder']['layers_0']['mlp']['wi_0']['kernel'].sharding.spec),
      'collectives': any(op in hlo for op in ('all-reduce', 'all-gather', 'reduce-scatter')),
      'logits_diff': float(np.abs(np.asarray(logits) - np.asarray(ref_logits))[tgt > 0].max()),
      'loss_diff': float(abs(loss - ref_loss)), 'grad_diff': gdiff,
      'greedy_equal': bool(np.array_equal(np.asarray(tokens), np.asarray(ref_tokens))),
      'score_diff': float(np.abs(np.asarray(scores) - np.asarray(ref_scores)).max()),
      'beam_equal': bool(np.array_equal(np.asarray(beam), np.asarray(ref_beam))),
      'tokens_sharding': str(tokens.sharding),
  }))
  return 0


if __name__ == '__main__':
  sys.exit(main())
