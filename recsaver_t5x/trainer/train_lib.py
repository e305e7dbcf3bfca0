"""The training loop: seqio batches -> sharded T5 train step (Adafactor) -> orbax checkpoints.

`train(...)` is configured by gin (see `gin/*.gin`, T5X macro names) and called by
`recsaver train`. What it guarantees:

- Sharding: parameters and optimizer state are laid out on a ('data', 'model') mesh from the
  model's logical axis names and the rule table (`recsaver_t5x.model.partitioning`); batches are
  split over 'data'. `num_partitions` devices hold one model replica. Same code on 1 device.
- Exact resume: the step, parameters, optimizer state and the number of batches consumed are
  checkpointed together; a restarted run rebuilds the deterministic data pipeline, skips the
  consumed batches and draws dropout from fold_in(seed, step), so its losses equal those of an
  uninterrupted run.
- NaN/inf loss stops training with a message naming the step and the last checkpoint; a
  checkpoint is never written from a non-finite state.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import partitioning
from recsaver_t5x.model.config import T5Config
from recsaver_t5x.model.network import Transformer
from recsaver_t5x.trainer import checkpointing, data as data_lib, flops, losses, optimizers
from recsaver_t5x.trainer.summaries import MetricsWriter

log = logging.getLogger(__name__)


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


@dataclasses.dataclass(frozen=True)
class LossConfig:
  z_loss: float = 1e-4
  loss_normalizing_factor: losses.NormalizingFactor = None


def model_inputs(batch: Mapping[str, jax.Array]) -> dict:
  """Keyword arguments of `Transformer.__call__` from a feature-converted batch."""
  return dict(encoder_input_tokens=batch["encoder_input_tokens"],
              decoder_input_tokens=batch["decoder_input_tokens"],
              decoder_target_tokens=batch["decoder_target_tokens"],
              encoder_segment_ids=batch.get("encoder_segment_ids"),
              decoder_segment_ids=batch.get("decoder_segment_ids"),
              decoder_positions=batch.get("decoder_positions"))


def make_train_step(model: Transformer, optimizer: optax.GradientTransformation,
                    learning_rate_fn: Callable, loss_config: LossConfig, dropout_seed: int
                    ) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """One optimizer step; dropout keys depend only on (dropout_seed, step)."""
  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    rng = jax.random.fold_in(jax.random.PRNGKey(dropout_seed), state.step)

    def loss_fn(params):
      logits = model.apply({"params": params}, **model_inputs(batch), enable_dropout=True,
                           rngs={"dropout": rng})
      loss, parts = losses.compute_loss(logits, batch, loss_config.z_loss,
                                        loss_config.loss_normalizing_factor)
      weights = batch.get("decoder_loss_weights", batch["decoder_target_tokens"] > 0)
      correct = jnp.sum((jnp.argmax(logits, -1) == batch["decoder_target_tokens"]) * weights)
      return loss, (parts, correct)

    (loss, (parts, correct)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    weight_sum = jnp.maximum(parts["weight_sum"], 1.0)
    metrics = {"loss": loss, "z_loss": parts["z_loss"],
               "cross_ent_per_token": parts["ce_sum"] / weight_sum,
               "accuracy": correct / weight_sum, "learning_rate": learning_rate_fn(state.step),
               "grad_norm": optax.global_norm(grads)}
    return TrainState(state.step + 1, params, opt_state), metrics
  return train_step


def opt_state_shardings(abstract_opt_state: Any, abstract_params: Any, param_shardings: Any,
                        mesh: jax.sharding.Mesh) -> Any:
  """Optimizer slots shaped like their parameter share its sharding; the rest is replicated.

  Adafactor's factored rows/columns are vectors (small), so replicating them costs little.
  """
  params_def = jax.tree.structure(abstract_params)
  replicated = partitioning.replicated(mesh)

  def for_subtree(node):
    if jax.tree.structure(node) == params_def:
      return jax.tree.map(lambda leaf, p, s: s if leaf.shape == p.shape else replicated,
                          node, abstract_params, param_shardings)
    return jax.tree.map(lambda _: replicated, node)
  return jax.tree.map(for_subtree, abstract_opt_state,
                      is_leaf=lambda n: jax.tree.structure(n) == params_def)


def load_initial_params(path: str, config: T5Config) -> Any:
  """Parameters from a T5X checkpoint (legacy or orbax), our own checkpoint or a HF directory."""
  from recsaver_t5x.model import checkpoints  # pylint: disable=import-outside-toplevel
  is_hf = os.path.isfile(os.path.join(path, "config.json")) and any(
      f.endswith((".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json"))
      for f in os.listdir(path))
  if is_hf:
    _, params = checkpoints.load_hf_checkpoint(path, dtype=config.param_dtype)
  else:
    params = checkpoints.load_t5x_checkpoint(path)
  dtype = np.dtype(config.parameter_dtype)
  return jax.tree.map(lambda x: np.asarray(x).astype(dtype), params)


def _check_shapes(loaded: Any, abstract: Any, path: str) -> None:
  flat_l = flax.traverse_util.flatten_dict(loaded, sep="/")
  flat_a = flax.traverse_util.flatten_dict(abstract, sep="/")
  if set(flat_l) != set(flat_a):
    missing, extra = sorted(set(flat_a) - set(flat_l)), sorted(set(flat_l) - set(flat_a))
    raise UserFacingError(f"{path}: checkpoint parameters do not match the model config "
                          f"(missing {missing[:3]}, unexpected {extra[:3]})")
  for k, a in flat_a.items():
    if tuple(flat_l[k].shape) != tuple(a.shape):
      raise UserFacingError(f"{path}: parameter {k} has shape {tuple(flat_l[k].shape)}, the "
                            f"model config wants {tuple(a.shape)} (wrong model size?)")


def _global_batch(local: Mapping[str, np.ndarray], mesh: jax.sharding.Mesh) -> dict:
  out = {}
  for k, v in local.items():
    sharding = partitioning.batch_sharding(mesh, v.ndim)
    global_shape = (v.shape[0] * jax.process_count(),) + v.shape[1:]
    out[k] = jax.make_array_from_process_local_data(sharding, v, global_shape)
  return out


def _real_tokens(batch: Mapping[str, np.ndarray]) -> int:
  return int((batch["encoder_input_tokens"] > 0).sum() + (batch["decoder_target_tokens"] > 0).sum())


def _write_json(path: str, obj: Any) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(obj, f, indent=2)
  os.replace(tmp, path)


def train(*, model_dir: str, mixture_or_task_name: str, task_feature_lengths: Mapping[str, int],
          train_steps: int, batch_size: int, model_config: T5Config,
          vocab_size: Optional[int] = -1,
          learning_rate_fn: Callable = optimizers.learning_rate_schedule(),
          optimizer_fn: Callable[..., optax.GradientTransformation] = optimizers.adafactor,
          initial_checkpoint_path: Optional[str] = None, pack: bool = False,
          use_cached_tasks: bool = False, seed: int = 0, dropout_seed: Optional[int] = None,
          checkpoint_period: int = 1000, keep_checkpoints: Optional[int] = None,
          async_checkpointing: bool = True, log_every: int = 10, num_partitions: int = 1,
          logical_axis_rules: Optional[Sequence] = None, z_loss: float = 1e-4,
          loss_normalizing_factor: losses.NormalizingFactor = None,
          tasks_config: Optional[str] = None, task_modules: Sequence[str] = (),
          report_mfu: bool = True, progress: bool = True, tensorboard: bool = True,
          max_steps_this_run: Optional[int] = None) -> dict:
  """Trains (or resumes) a T5 model on a seqio task/mixture; returns the last logged scalars.

  Args (T5X macro in brackets):
    model_dir [MODEL_DIR]: checkpoints, TensorBoard events, train_metrics.jsonl, config.json.
    mixture_or_task_name [MIXTURE_OR_TASK_NAME], task_feature_lengths [TASK_FEATURE_LENGTHS].
    train_steps [TRAIN_STEPS]: total optimizer steps of this fine-tuning (the initial
      checkpoint's own step count is not included, unlike T5X's TRAIN_STEPS).
    batch_size [BATCH_SIZE]: global batch size.
    model_config: the network (DROPOUT_RATE goes in there).
    vocab_size [VOCAB_SIZE]: embedding rows; None: the task vocabulary's size rounded up to a
      multiple of 128; -1: keep model_config's.
    learning_rate_fn [LEARNING_RATE via the schedule], optimizer_fn: Adafactor as T5X.
    initial_checkpoint_path [INITIAL_CHECKPOINT_PATH]: T5X/orbax/HF weights to start from
      (ignored when model_dir already has a checkpoint: then training resumes).
    pack: pack examples into rows. use_cached_tasks [USE_CACHED_TASKS].
    seed: data shuffle seed; dropout_seed (default = seed).
    checkpoint_period, keep_checkpoints (None keeps all), async_checkpointing.
    log_every: steps between scalar logs and NaN checks.
    num_partitions: devices per model replica (model parallelism); the rest is data parallel.
    z_loss, loss_normalizing_factor [Z_LOSS, LOSS_NORMALIZING_FACTOR]: see `losses`.
    tasks_config [TASKS_CONFIG], task_modules: how tasks get registered before use.
    max_steps_this_run: stop after this many steps even if train_steps is not reached.
  """
  data_lib.register_tasks(tasks_config, task_modules)
  is_main = jax.process_index() == 0
  dropout_seed = seed if dropout_seed is None else dropout_seed
  in_vocab, out_vocab = data_lib.get_vocabularies(mixture_or_task_name)
  if vocab_size is None:
    pieces = max(in_vocab.vocab_size, out_vocab.vocab_size)
    model_config = model_config.replace(vocab_size=-(-pieces // 128) * 128)
  elif vocab_size != -1:
    model_config = model_config.replace(vocab_size=int(vocab_size))
  for name, vocab in (("input", in_vocab), ("output", out_vocab)):
    if vocab.vocab_size > model_config.vocab_size:
      raise UserFacingError(f"the task's {name} vocabulary has {vocab.vocab_size} pieces but the "
                            f"model only {model_config.vocab_size} embedding rows (set VOCAB_SIZE >= the vocabulary size)")
  if is_main:  # after the check: a failed start leaves no config.json behind
    os.makedirs(model_dir, exist_ok=True)
    _write_json(os.path.join(model_dir, "config.json"), model_config.to_dict())

  mesh = partitioning.make_mesh(num_partitions)
  rules = logical_axis_rules or partitioning.standard_logical_axis_rules()
  if batch_size % mesh.shape["data"]:
    raise UserFacingError(f"BATCH_SIZE={batch_size} must be divisible by the data-parallel "
                          f"mesh size {mesh.shape['data']}")
  model = Transformer(model_config)
  optimizer = optimizer_fn(learning_rate_fn)
  # Measured outside the mesh context: a plain single-device computation.
  peak = flops.measured_matmul_peak(model_config.dtype) * jax.device_count() if report_mfu else None
  with partitioning.mesh_context(mesh, rules):
    param_sh = partitioning.param_shardings(model_config, mesh, rules)
    abstract_params = jax.eval_shape(
        lambda: _init_params(model, jax.random.PRNGKey(0)))
    abstract_opt = jax.eval_shape(optimizer.init, abstract_params)
    opt_sh = opt_state_shardings(abstract_opt, abstract_params, param_sh, mesh)
    state_sh = TrainState(step=partitioning.replicated(mesh), params=param_sh, opt_state=opt_sh)

    ckpt = checkpointing.Checkpointer(model_dir, keep=keep_checkpoints,
                                      async_save=async_checkpointing)
    data_cfg = data_lib.DataConfig(mixture_or_task_name, dict(task_feature_lengths), batch_size,
                                   split="train", shuffle=True, seed=seed, pack=pack,
                                   use_cached=use_cached_tasks)
    latest = ckpt.latest_step()
    if latest is not None:
      state, batches_done = _resume(ckpt, latest, abstract_params, abstract_opt, param_sh, opt_sh,
                                    data_cfg)
      log.info("resuming from %s/checkpoint_%d (%d batches consumed)", model_dir, latest,
               batches_done)
    else:
      params = _initial_params(model, model_config, initial_checkpoint_path, abstract_params,
                               param_sh, seed)
      opt_state = jax.jit(optimizer.init, out_shardings=opt_sh)(params)
      state = TrainState(jnp.asarray(0, jnp.int32), params, opt_state)
      batches_done = 0
    start_step = int(state.step)
    step_fn = jax.jit(
        make_train_step(model, optimizer, learning_rate_fn,
                        LossConfig(z_loss, loss_normalizing_factor), dropout_seed),
        in_shardings=(state_sh, partitioning.batch_sharding(mesh, 2)),
        out_shardings=(state_sh, partitioning.replicated(mesh)), donate_argnums=(0,))
    if start_step >= train_steps:
      log.info("nothing to do: checkpoint step %d >= TRAIN_STEPS %d", start_step, train_steps)
      ckpt.close()
      return {"step": start_step}
    return _loop(state, step_fn, ckpt, data_cfg, batches_done, mesh, model_config,
                 model_dir=model_dir, train_steps=train_steps,
                 checkpoint_period=checkpoint_period, log_every=log_every,
                 peak=peak, progress=progress and is_main,
                 writer=MetricsWriter(model_dir, enabled=is_main, tensorboard=tensorboard),
                 max_steps_this_run=max_steps_this_run)


def _init_params(model: Transformer, rng: jax.Array) -> Any:
  tokens = jnp.ones((1, 1), jnp.int32)
  variables = model.init({"params": rng, "dropout": rng}, tokens, tokens, tokens,
                         enable_dropout=False)
  return flax.linen.meta.unbox(variables["params"])


def _initial_params(model, config, path, abstract_params, param_sh, seed):
  if path:
    loaded = load_initial_params(path, config)
    _check_shapes(loaded, abstract_params, path)
    return jax.tree.map(jax.device_put, loaded, param_sh)
  return jax.jit(lambda rng: _init_params(model, rng), out_shardings=param_sh)(
      jax.random.PRNGKey(seed))


def _resume(ckpt, step, abstract_params, abstract_opt, param_sh, opt_sh, data_cfg):
  with_sh = lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s)
  params, opt_state, position = ckpt.restore(
      step, jax.tree.map(with_sh, abstract_params, param_sh),
      jax.tree.map(with_sh, abstract_opt, opt_sh))
  saved = position.get("data_config", {})
  now = data_cfg.to_dict()
  changed = {k for k in ("mixture_or_task_name", "task_feature_lengths", "batch_size", "seed",
                         "pack") if k in saved and saved[k] != now[k]}
  if changed:
    raise UserFacingError(
        f"cannot resume checkpoint_{step} exactly: {', '.join(sorted(changed))} changed since "
        f"it was written ({ {k: saved[k] for k in changed} } -> { {k: now[k] for k in changed} }); "
        "use a new MODEL_DIR (with INITIAL_CHECKPOINT_PATH) to change them")
  return TrainState(jnp.asarray(step, jnp.int32), params, opt_state), int(position["batches"])


def _loop(state, step_fn, ckpt, data_cfg, batches_done, mesh, config, *, model_dir, train_steps,
          checkpoint_period, log_every, peak, progress, writer, max_steps_this_run):
  from tqdm.auto import tqdm  # pylint: disable=import-outside-toplevel
  start_step = int(state.step)
  ds = data_lib.get_dataset(data_cfg, num_epochs=None, shard_index=jax.process_index(),
                            num_shards=jax.process_count(), start_batch=batches_done)
  batches = data_lib.numpy_batches(ds)
  lengths = data_cfg.task_feature_lengths
  step_flops = flops.train_step_flops(config, data_cfg.batch_size, lengths["inputs"],
                                      lengths["targets"])
  end_step = train_steps if max_steps_this_run is None else min(
      train_steps, start_step + max_steps_this_run)
  bar = tqdm(total=train_steps, initial=start_step, disable=not progress, unit="step",
             dynamic_ncols=True)
  window: list[tuple[int, dict]] = []
  tokens = 0
  t_window = None
  last = {"step": start_step}
  step = start_step
  try:
    while step < end_step:
      try:
        local = next(batches)
      except StopIteration:
        raise UserFacingError(f"{data_cfg.mixture_or_task_name}: the training data is empty "
                              "(check the sample filter and the prepared split)") from None
      tokens += _real_tokens(local) * jax.process_count()
      state, metrics = step_fn(state, _global_batch(local, mesh))
      step += 1
      batches_done += 1
      window.append((step, metrics))
      bar.update(1)
      if t_window is None:  # the first step includes compilation: time from its end
        jax.block_until_ready(metrics["loss"])
        t_window, tokens, window = time.perf_counter(), 0, []
        last = _flush_first(step, metrics, writer)
        _stop_if_not_finite(last["loss"], step, ckpt)
      save_now = step % checkpoint_period == 0 or step == end_step
      if window and (step % log_every == 0 or save_now):
        host = jax.device_get([m for _, m in window])
        elapsed = time.perf_counter() - t_window
        for (s, _), m in zip(window, host):
          _stop_if_not_finite(float(m["loss"]), s, ckpt)
        rates = {"tokens_per_s": tokens / elapsed,
                 "steps_per_s": len(window) / elapsed}
        if peak:
          rates["mfu"] = step_flops * len(window) / elapsed / peak
        for (s, _), m in zip(window, host):
          scalars = {k: float(v) for k, v in m.items()}
          if s == window[-1][0]:
            scalars.update(rates)
          writer.write(s, scalars)
        last = {"step": step, **{k: float(v) for k, v in host[-1].items()}, **rates}
        bar.set_postfix(loss=f"{last['loss']:.4g}", ce_tok=f"{last['cross_ent_per_token']:.3g}",
                        tok_s=f"{rates['tokens_per_s']:.0f}")
        window, tokens, t_window = [], 0, time.perf_counter()
      if save_now:
        ckpt.save(step, state.params, state.opt_state,
                  {"batches": batches_done, "step": step, "data_config": data_cfg.to_dict()})
  finally:
    bar.close()
    writer.flush()
    ckpt.close()
  writer.close()
  return last


def _flush_first(step: int, metrics: dict, writer: MetricsWriter) -> dict:
  host = {k: float(v) for k, v in jax.device_get(metrics).items()}
  writer.write(step, host)
  return {"step": step, **host}


def _stop_if_not_finite(loss: float, step: int, ckpt: checkpointing.Checkpointer) -> None:
  if math.isfinite(loss):
    return
  ckpt.wait()
  latest = ckpt.latest_step()
  where = f"checkpoint_{latest}" if latest is not None else "no checkpoint yet"
  raise UserFacingError(
      f"training stopped: the loss is {loss} at step {step}; last good checkpoint: {where}. "
      "Lower LEARNING_RATE, use float32 (dtype), or check the data; restarting resumes from "
      "the last checkpoint.")
