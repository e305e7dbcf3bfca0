"""Adafactor as T5X configures it, and T5X-style learning-rate schedules (optax).

T5X's t5_1_1 gin files use `adafactor.Adafactor(decay_rate=0.8, step_offset=0)` with its
defaults: factored second moments for dims >= 128, no momentum (beta1 None), update clipping at
RMS 1.0, learning rate multiplied by the parameter's RMS (floored at 1e-3), epsilon1 1e-30.
`optax.adafactor` with the arguments below implements the same update for the 2-D kernels of
T5 (T5X picks the factored dims from logical axis names, optax the two largest dims; for a
matrix both factor the same two dims, and the factored estimate is symmetric in them).
"""
from __future__ import annotations

from typing import Callable, Optional

import jax.numpy as jnp
import optax


def adafactor(learning_rate: Callable[[int], float], decay_rate: float = 0.8,
              step_offset: int = 0, min_dim_size_to_factor: int = 128,
              clipping_threshold: Optional[float] = 1.0, multiply_by_parameter_scale: bool = True,
              beta1: Optional[float] = None, epsilon1: float = 1e-30,
              weight_decay_rate: Optional[float] = None) -> optax.GradientTransformation:
  """T5X's Adafactor hyperparameters mapped onto optax.adafactor."""
  return optax.adafactor(
      learning_rate=learning_rate, min_dim_size_to_factor=min_dim_size_to_factor,
      decay_rate=decay_rate, decay_offset=step_offset,
      multiply_by_parameter_scale=multiply_by_parameter_scale,
      clipping_threshold=clipping_threshold, momentum=beta1, eps=epsilon1, factored=True,
      weight_decay_rate=weight_decay_rate)


def learning_rate_schedule(base_learning_rate: float = 1e-4, factors: str = "constant",
                           warmup_steps: int = 0, decay_factor: float = 0.5,
                           steps_per_decay: int = 20_000) -> Callable[[int], jnp.ndarray]:
  """A product of T5X-named factors ('constant * linear_warmup * rsqrt_decay', ...).

  constant: base_learning_rate; linear_warmup: min(1, step / warmup_steps);
  rsqrt_decay: 1 / sqrt(max(step, warmup_steps)); exponential_decay:
  decay_factor ** (step // steps_per_decay).
  """
  names = [f.strip() for f in factors.split("*") if f.strip()]
  known = {"constant", "linear_warmup", "rsqrt_decay", "exponential_decay"}
  unknown = set(names) - known
  if unknown:
    raise ValueError(f"unknown learning-rate factors {sorted(unknown)}; known: {sorted(known)}")

  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    lr = jnp.float32(1.0)
    for name in names:
      if name == "constant":
        lr *= base_learning_rate
      elif name == "linear_warmup":
        lr *= jnp.minimum(1.0, step / max(warmup_steps, 1))
      elif name == "rsqrt_decay":
        lr /= jnp.sqrt(jnp.maximum(step, max(warmup_steps, 1)))
      elif name == "exponential_decay":
        lr *= decay_factor ** jnp.floor(step / steps_per_decay)
    return lr
  return schedule
