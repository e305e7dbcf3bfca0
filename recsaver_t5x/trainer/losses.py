"""T5X's training loss: token cross entropy with a z-loss, summed, optionally normalised.

Same semantics as `t5x.losses.compute_weighted_cross_entropy` (re-implemented, not copied):
  loss_t   = -log softmax(logits_t)[target_t] + z_loss * logsumexp(logits_t)^2
  loss     = sum_t weight_t * loss_t / loss_normalizing_factor
with `loss_normalizing_factor` None (no normalisation: T5X's default, the optimizer is scale
invariant), a number (T5X's fine-tuning of Mesh-TF checkpoints: pretraining batch x target
length), or one of T5X's special factors by name:
  NUM_REAL_TARGET_TOKENS   sum of the loss weights of the batch;
  NUM_TOTAL_TARGET_TOKENS  batch x target length (padding included);
  AVERAGE_PER_SEQUENCE     mean over sequences of the per-sequence mean (weights divided by
                           each sequence's weight sum, then by the number of sequences).
"""
from __future__ import annotations

from typing import Mapping, Optional, Union

import jax
import jax.numpy as jnp

SPECIAL_FACTORS = ("NUM_REAL_TARGET_TOKENS", "NUM_TOTAL_TARGET_TOKENS", "AVERAGE_PER_SEQUENCE")
NormalizingFactor = Optional[Union[float, int, str]]


def cross_entropy_with_z_loss(logits: jax.Array, targets: jax.Array, z_loss: float
                              ) -> tuple[jax.Array, jax.Array]:
  """Per-token (loss incl. z-loss, z-loss part), both [batch, length], in float32."""
  logits = logits.astype(jnp.float32)
  log_z = jax.nn.logsumexp(logits, axis=-1)
  target_logit = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  z_term = z_loss * jnp.square(log_z)
  return log_z - target_logit + z_term, z_term


def _per_sequence_weights(weights: jax.Array, segment_ids: Optional[jax.Array]
                          ) -> tuple[jax.Array, jax.Array]:
  """(weights divided by their own sequence's weight sum (packed rows: per segment), #sequences)."""
  if segment_ids is None:
    totals = jnp.sum(weights, axis=-1, keepdims=True)
    return weights / jnp.maximum(totals, 1e-9), jnp.sum(totals > 0)
  max_segments = segment_ids.shape[-1] + 1
  onehot = jax.nn.one_hot(segment_ids, max_segments, dtype=weights.dtype)  # [b, t, s]
  seg_totals = jnp.einsum("bt,bts->bs", weights, onehot)
  per_token_total = jnp.einsum("bs,bts->bt", seg_totals, onehot)
  n_sequences = jnp.sum(seg_totals[:, 1:] > 0)  # segment 0 is padding
  return weights / jnp.maximum(per_token_total, 1e-9), n_sequences


def compute_loss(logits: jax.Array, batch: Mapping[str, jax.Array], z_loss: float = 1e-4,
                 loss_normalizing_factor: NormalizingFactor = None,
                 label_smoothing: float = 0.0) -> tuple[jax.Array, dict]:
  """The scalar training loss of a batch and its parts ({'z_loss', 'weight_sum', 'ce_sum'})."""
  if label_smoothing:
    raise NotImplementedError("label smoothing is not supported (the study does not use it)")
  targets = batch["decoder_target_tokens"]
  weights = batch.get("decoder_loss_weights")
  weights = (targets > 0) if weights is None else weights
  weights = weights.astype(jnp.float32)
  per_token, z_term = cross_entropy_with_z_loss(logits, targets, z_loss)
  weight_sum = jnp.sum(weights)
  # the per-token cross entropy (a metric) always uses the real token weights
  ce_sum = jnp.sum((per_token - z_term) * weights)
  factor = jnp.float32(1.0)
  if isinstance(loss_normalizing_factor, str):
    name = loss_normalizing_factor.upper()
    if name == "NUM_REAL_TARGET_TOKENS":
      factor = weight_sum
    elif name == "NUM_TOTAL_TARGET_TOKENS":
      factor = jnp.float32(targets.size)
    elif name == "AVERAGE_PER_SEQUENCE":
      weights, n_seq = _per_sequence_weights(weights, batch.get("decoder_segment_ids"))
      factor = n_seq.astype(jnp.float32)
    else:
      raise ValueError(f"unknown loss_normalizing_factor {loss_normalizing_factor!r}; use a "
                       f"number or one of {SPECIAL_FACTORS}")
  elif loss_normalizing_factor is not None:
    factor = jnp.float32(loss_normalizing_factor)
  loss = jnp.sum(per_token * weights) / factor
  return loss, {"z_loss": jnp.sum(z_term * weights) / factor, "weight_sum": weight_sum,
                "ce_sum": ce_sum}
