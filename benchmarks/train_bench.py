"""Training-step throughput: our JAX train step vs transformers' PyTorch T5, same run.

Both frameworks train the same T5 v1.1 network (our weights copied into
`T5ForConditionalGeneration`, untied head), on the same padded batch, with Adafactor
(T5X settings; transformers' Adafactor with decay_rate -0.8, no momentum, clipping 1.0,
parameter scaling, fixed lr). Reported per framework: step time, tokens/s (non-padding input +
target tokens) and MFU = model FLOPs per second / the machine's matmul peak, where model FLOPs
are the matmul FLOPs of forward + backward (`recsaver_t5x.trainer.flops`) and the peak is the
best measured n x n matmul rate of either framework on this machine (same dtype).

The first-step losses are compared as a check that both run the same computation (ours without
z-loss, normalised per real target token like transformers' mean cross entropy).

  .venv/bin/python benchmarks/train_bench.py --config small --batch 8 --inputs 256 --targets 64
  .venv/bin/python benchmarks/train_bench.py --config tiny --override emb_dim=256 ... (CPU)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def _parse_overrides(pairs):
  out = {}
  for p in pairs:
    k, v = p.split("=", 1)
    out[k] = int(v) if v.lstrip("-").isdigit() else float(v) if "." in v else v
  return out


def make_batch(rng, batch, inputs, targets, vocab):
  """A padded batch: random lengths in [len/2, len], ids in [3, vocab), EOS last."""
  enc = np.zeros((batch, inputs), np.int32)
  tgt = np.zeros((batch, targets), np.int32)
  for b in range(batch):
    n, m = rng.integers(inputs // 2, inputs + 1), rng.integers(targets // 2, targets + 1)
    enc[b, :n] = rng.integers(3, vocab, n)
    tgt[b, :m] = rng.integers(3, vocab, m)
    enc[b, n - 1] = tgt[b, m - 1] = 1
  dec_in = np.zeros_like(tgt)
  dec_in[:, 1:] = tgt[:, :-1]
  return {"encoder_input_tokens": enc, "decoder_input_tokens": dec_in,
          "decoder_target_tokens": tgt, "decoder_loss_weights": (tgt > 0).astype(np.float32)}


def jax_peak(dtype):
  from recsaver_t5x.trainer import flops  # pylint: disable=import-outside-toplevel
  return flops.measured_matmul_peak(dtype)


def torch_peak(dtype, device, n=None, repeats=5):
  import torch  # pylint: disable=import-outside-toplevel
  n = n or (1024 if device == "cpu" else 8192)
  dt = torch.bfloat16 if dtype == "bfloat16" else torch.float32
  a = torch.randn(n, n, device=device, dtype=dt)
  b = torch.randn(n, n, device=device, dtype=dt)
  best = float("inf")
  for _ in range(repeats + 1):
    if device != "cpu":
      torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(4):
      c = a @ b
    if device != "cpu":
      torch.cuda.synchronize()
    best = min(best, time.perf_counter() - t)
  del c
  return 4 * 2.0 * n ** 3 / best


def bench_jax(config, params, batch, steps, lr):
  import jax  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model.network import Transformer  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.trainer import optimizers, train_lib  # pylint: disable=import-outside-toplevel
  schedule = optimizers.learning_rate_schedule(lr, "constant")
  opt = optimizers.adafactor(schedule)
  state = train_lib.TrainState(jax.numpy.asarray(0), jax.device_put(params),
                               opt.init(jax.device_put(params)))
  step = jax.jit(train_lib.make_train_step(Transformer(config), opt, schedule,
                                           train_lib.LossConfig(z_loss=1e-4), 0),
                 donate_argnums=(0,))
  dev_batch = jax.device_put(batch)
  t0 = time.perf_counter()
  state, m = step(state, dev_batch)
  first = {k: float(v) for k, v in m.items()}
  compile_s = time.perf_counter() - t0
  state, m = step(state, dev_batch)  # warm
  jax.block_until_ready(m)
  times = []
  for _ in range(steps):
    t = time.perf_counter()
    state, m = step(state, dev_batch)
    jax.block_until_ready(m["loss"])
    times.append(time.perf_counter() - t)
  return {"first_loss_per_token": first["cross_ent_per_token"], "compile_s": compile_s,
          "step_s": float(np.median(times)), "step_s_min": float(np.min(times))}


def bench_torch(config, params, batch, steps, lr, device, dtype):
  import torch  # pylint: disable=import-outside-toplevel
  from transformers.optimization import Adafactor  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model.checkpoints import to_hf_model  # pylint: disable=import-outside-toplevel
  model = to_hf_model(params, config).to(device)
  model.config.dropout_rate = config.dropout_rate
  model.train()
  opt = Adafactor(model.parameters(), lr=lr, relative_step=False, scale_parameter=True,
                  warmup_init=False, decay_rate=-0.8, beta1=None, clip_threshold=1.0)
  enc = torch.as_tensor(batch["encoder_input_tokens"], dtype=torch.long, device=device)
  tgt = torch.as_tensor(batch["decoder_target_tokens"], dtype=torch.long, device=device)
  dec_in = torch.as_tensor(batch["decoder_input_tokens"], dtype=torch.long, device=device)
  labels = tgt.masked_fill(tgt == 0, -100)
  kwargs = dict(input_ids=enc, attention_mask=(enc > 0).long(), decoder_input_ids=dec_in,
                decoder_attention_mask=(tgt > 0).long(), labels=labels)
  autocast = torch.autocast(device_type="cuda" if device != "cpu" else "cpu",
                            dtype=torch.bfloat16, enabled=dtype == "bfloat16")

  def step():
    with autocast:
      loss = model(**kwargs).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss

  first = float(step().detach())
  step()
  times = []
  for _ in range(steps):
    if device != "cpu":
      torch.cuda.synchronize()
    t = time.perf_counter()
    step()
    if device != "cpu":
      torch.cuda.synchronize()
    times.append(time.perf_counter() - t)
  return {"first_loss_per_token": first, "step_s": float(np.median(times)),
          "step_s_min": float(np.min(times))}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--config", default="tiny", help="named config (tiny, small, base, ...)")
  p.add_argument("--override", action="append", default=[], help="config field=value")
  p.add_argument("--batch", type=int, default=8)
  p.add_argument("--inputs", type=int, default=256)
  p.add_argument("--targets", type=int, default=64)
  p.add_argument("--vocab", type=int, default=32128)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
  p.add_argument("--dropout", type=float, default=0.0)
  p.add_argument("--lr", type=float, default=1e-4)
  p.add_argument("--skip_torch", action="store_true")
  p.add_argument("--out", help="write the JSON result here too")
  a = p.parse_args()

  import jax  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model.config import get_config  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.model.network import init_params  # pylint: disable=import-outside-toplevel
  from recsaver_t5x.trainer import flops  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(os.cpu_count() or 1)
  device = "cuda" if torch.cuda.is_available() else "cpu"
  config = get_config(a.config, vocab_size=a.vocab, dropout_rate=a.dropout, dtype=a.dtype,
                      **_parse_overrides(a.override))
  params = jax.device_get(init_params(config, jax.random.PRNGKey(0)))
  batch = make_batch(np.random.default_rng(0), a.batch, a.inputs, a.targets, config.vocab_size)
  real_tokens = int((batch["encoder_input_tokens"] > 0).sum() + (batch["decoder_target_tokens"] > 0).sum())
  model_flops = flops.train_step_flops(config, a.batch, a.inputs, a.targets)
  peaks = {"jax": jax_peak(a.dtype), "torch": torch_peak(a.dtype, device)}
  peak = max(peaks.values())
  results = {"jax": bench_jax(config, params, batch, a.steps, a.lr)}
  if not a.skip_torch:
    results["torch"] = bench_torch(config, params, batch, a.steps, a.lr, device, a.dtype)
  for r in results.values():
    r["tokens_per_s"] = real_tokens / r["step_s"]
    r["mfu"] = model_flops / r["step_s"] / peak
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  out = {"config": config.to_dict(), "params": n_params, "batch": a.batch,
         "lengths": [a.inputs, a.targets], "real_tokens_per_step": real_tokens,
         "model_tflops_per_step": model_flops / 1e12, "dtype": a.dtype,
         "matmul_peak_tflops": {k: v / 1e12 for k, v in peaks.items()},
         "device": f"{jax.devices()[0].device_kind} / torch {device}",
         "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
         "versions": {"jax": jax.__version__, "torch": torch.__version__},
         "results": results}
  print(json.dumps(out, indent=2))
  print()
  print(f"| framework | step (s) | tokens/s | MFU | first loss/token |")
  print(f"|---|---|---|---|---|")
  for name, r in results.items():
    print(f"| {name} | {r['step_s']:.4f} | {r['tokens_per_s']:.0f} | {r['mfu']:.1%} | "
          f"{r['first_loss_per_token']:.5f} |")
  if "torch" in results:
    print(f"\nspeed-up (torch step / jax step): {results['torch']['step_s'] / results['jax']['step_s']:.2f}x")
  if a.out:
    with open(a.out, "w", encoding="utf-8") as f:
      json.dump(out, f, indent=2)


if __name__ == "__main__":
  main()
