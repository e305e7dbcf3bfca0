"""Loss and optimizer against independent numpy references of T5X's definitions."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from recsaver_t5x.trainer import losses, optimizers


def _np_loss(logits, targets, weights, z_loss):
  m = logits.max(-1, keepdims=True)
  log_z = (np.log(np.exp(logits - m).sum(-1, keepdims=True)) + m)[..., 0]
  tgt = np.take_along_axis(logits, targets[..., None], -1)[..., 0]
  return (log_z - tgt + z_loss * log_z ** 2) * weights


def test_loss_matches_numpy_and_special_factors():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 6, 11)).astype(np.float32) * 3
  targets = rng.integers(1, 11, size=(3, 6)).astype(np.int32)
  targets[0, 4:] = 0
  targets[2, 2:] = 0
  weights = (targets > 0).astype(np.float32)
  per = _np_loss(logits.astype(np.float64), targets, weights, 1e-4)
  batch = {"decoder_target_tokens": targets, "decoder_loss_weights": weights}
  for factor, want in [(None, per.sum()), (233472, per.sum() / 233472),
                       ("NUM_REAL_TARGET_TOKENS", per.sum() / weights.sum()),
                       ("NUM_TOTAL_TARGET_TOKENS", per.sum() / targets.size),
                       ("AVERAGE_PER_SEQUENCE",
                        np.mean(per.sum(1) / weights.sum(1)))]:
    got, parts = losses.compute_loss(jnp.asarray(logits), batch, 1e-4, factor)
    assert float(got) == pytest.approx(want, rel=1e-5), factor
  # z_loss=0 is plain cross entropy (optax as a second reference).
  got, parts = losses.compute_loss(jnp.asarray(logits), batch, 0.0, "NUM_REAL_TARGET_TOKENS")
  ce = optax.softmax_cross_entropy_with_integer_labels(jnp.asarray(logits), jnp.asarray(targets))
  assert float(got) == pytest.approx(float((ce * weights).sum() / weights.sum()), rel=1e-5)
  # the per-token cross entropy the trainer logs (cross_ent_per_token = ce_sum / weight_sum)
  # excludes the z-loss and does not depend on the normalising factor
  for factor in (None, 233472, "AVERAGE_PER_SEQUENCE"):
    _, parts = losses.compute_loss(jnp.asarray(logits), batch, 1e-4, factor)
    assert float(parts["ce_sum"] / parts["weight_sum"]) == pytest.approx(
        float((ce * weights).sum() / weights.sum()), rel=1e-5)


def test_average_per_sequence_with_packing():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(1, 7, 5)).astype(np.float32)
  targets = np.array([[3, 1, 4, 2, 1, 0, 0]], np.int32)
  seg = np.array([[1, 1, 2, 2, 2, 0, 0]], np.int32)
  w = (targets > 0).astype(np.float32)
  per = _np_loss(logits.astype(np.float64), targets, w, 0.0)[0]
  want = (per[:2].mean() + per[2:5].mean()) / 2
  got, _ = losses.compute_loss(jnp.asarray(logits), {"decoder_target_tokens": targets,
                                                     "decoder_loss_weights": w,
                                                     "decoder_segment_ids": seg},
                               0.0, "AVERAGE_PER_SEQUENCE")
  assert float(got) == pytest.approx(want, rel=1e-5)


def _t5x_adafactor_reference(params, grads_seq, lr, decay_rate=0.8, eps1=1e-30, eps2=1e-3,
                             clip=1.0, min_dim=128):
  """Adafactor as T5X implements it (Shazeer & Stern 2018, no momentum), in numpy float64."""
  params = {k: v.astype(np.float64) for k, v in params.items()}
  state = {}
  for step, grads in enumerate(grads_seq):
    decay = 1.0 - (step + 1.0) ** (-decay_rate)
    for k, p in params.items():
      g = grads[k].astype(np.float64)
      g2 = g * g + eps1
      factored = p.ndim >= 2 and min(p.shape[-2:]) >= min_dim
      if factored:
        vr, vc = state.get(k, (np.zeros(p.shape[:-1]), np.zeros(p.shape[:-2] + p.shape[-1:])))
        vr = decay * vr + (1 - decay) * g2.mean(-1)
        vc = decay * vc + (1 - decay) * g2.mean(-2)
        state[k] = (vr, vc)
        row_factor = (vr / vr.mean(-1, keepdims=True)) ** -0.5
        y = g * row_factor[..., None] * (vc ** -0.5)[..., None, :]
      else:
        v = state.get(k, np.zeros(p.shape))
        v = decay * v + (1 - decay) * g2
        state[k] = v
        y = g * v ** -0.5
      y = y / max(1.0, np.sqrt(np.mean(y * y)) / clip)
      scale = max(np.sqrt(np.mean(p * p)), eps2)
      params[k] = p - lr * scale * y
  return params


def test_adafactor_matches_t5x_definition():
  rng = np.random.default_rng(2)
  params = {"kernel": rng.normal(size=(128, 256)).astype(np.float32) * 0.05,  # factored
            "small": rng.normal(size=(16, 300)).astype(np.float32),            # not factored
            "scale": np.ones(64, np.float32)}
  grads_seq = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()}
               for _ in range(4)]
  lr = 1e-2
  opt = optimizers.adafactor(optimizers.learning_rate_schedule(lr, "constant"))
  p = jax.tree.map(jnp.asarray, params)
  state = opt.init(p)
  for g in grads_seq:
    updates, state = opt.update(jax.tree.map(jnp.asarray, g), state, p)
    p = optax.apply_updates(p, updates)
  want = _t5x_adafactor_reference(params, grads_seq, lr)
  for k in params:
    np.testing.assert_allclose(np.asarray(p[k]), want[k], rtol=2e-5, atol=1e-6)


def test_learning_rate_schedules():
  f = optimizers.learning_rate_schedule(1e-4, "constant")
  assert float(f(0)) == pytest.approx(1e-4) and float(f(10**5)) == pytest.approx(1e-4)
  g = optimizers.learning_rate_schedule(1.0, "constant * linear_warmup * rsqrt_decay", 100)
  assert float(g(50)) == pytest.approx(0.5 / 10) and float(g(400)) == pytest.approx(1 / 20)
  with pytest.raises(ValueError):
    optimizers.learning_rate_schedule(1.0, "cosine")
