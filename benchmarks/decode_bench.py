"""Greedy decoding throughput: our jitted JAX decoder vs transformers' PyTorch `generate`.

Both run in this process on the same weights (random weights in a named Flan-T5 shape, or a
Hugging Face Flan-T5 directory with --hf-dir) and the same inputs; the decodes are checked to
be identical, then tokens/s (generated tokens up to and including EOS) are compared.

  .venv/bin/python benchmarks/decode_bench.py --config small --batch 8 --decode-length 32
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generated_tokens(tokens: np.ndarray) -> int:
  """Tokens emitted up to and including the first EOS (all when there is none)."""
  eos_before = np.cumsum(tokens == 1, axis=1) - (tokens == 1)
  return int((eos_before == 0).sum())


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='small', help='named config (tiny/small/base/...)')
  parser.add_argument('--hf-dir', help='a Hugging Face Flan-T5 directory instead of random weights')
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--input-length', type=int, default=64)
  parser.add_argument('--decode-length', type=int, default=32)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--torch-threads', type=int, nargs='*',
                      help='torch intra-op thread counts to try (best is reported); default: '
                      '1 and the CPU count (on a busy machine one thread is often faster)')
  parser.add_argument('--json', help='also write the results here')
  args = parser.parse_args(argv)

  import jax
  import torch
  from recsaver_t5x.model import checkpoints, config as config_lib, decoding, network

  if args.hf_dir:
    config, params = checkpoints.load_hf_checkpoint(args.hf_dir)
  else:
    config = config_lib.get_config(args.config, dropout_rate=0.0)
    params = jax.device_get(network.init_params(config, jax.random.PRNGKey(args.seed)))
  hf = checkpoints.to_hf_model(params, config)
  params = jax.device_put(params)

  rng = np.random.default_rng(args.seed)
  enc = np.zeros((args.batch, args.input_length), np.int32)
  for i in range(args.batch):  # ragged inputs, like a real batch
    n = int(rng.integers(args.input_length // 2, args.input_length + 1))
    enc[i, :n - 1] = rng.integers(3, min(config.vocab_size, 32000), n - 1)
    enc[i, n - 1] = 1
  length = args.decode_length

  def ours():
    tokens, _ = decoding.greedy_decode(config, params, enc, length)
    return np.asarray(jax.block_until_ready(tokens))

  enc_t = torch.tensor(enc, dtype=torch.long)
  mask_t = (enc_t > 0).long()

  def theirs():
    with torch.inference_mode():
      out = hf.generate(input_ids=enc_t, attention_mask=mask_t, do_sample=False, num_beams=1,
                        max_new_tokens=length, min_length=0, decoder_start_token_id=0,
                        eos_token_id=1, pad_token_id=0).numpy()
    padded = np.zeros((args.batch, length), np.int32)
    padded[:, :out.shape[1] - 1] = out[:, 1:]
    return padded

  t0 = time.perf_counter()
  a = ours()  # includes compilation
  compile_s = time.perf_counter() - t0
  b = theirs()  # warm-up
  same = bool(np.array_equal(a, b))
  n_tokens = _generated_tokens(a)

  def best_of(fn):
    times = []
    for _ in range(args.repeats):
      t = time.perf_counter()
      fn()
      times.append(time.perf_counter() - t)
    return min(times)

  jax_s = best_of(ours)
  torch_times = {}
  for threads in args.torch_threads or sorted({1, os.cpu_count() or 1}):
    torch.set_num_threads(threads)
    theirs()  # warm-up at this thread count
    torch_times[threads] = best_of(theirs)
  best_threads = min(torch_times, key=torch_times.get)
  torch_s = torch_times[best_threads]
  result = {
      'config': args.hf_dir or args.config, 'batch': args.batch,
      'input_length': args.input_length, 'decode_length': length,
      'generated_tokens': n_tokens, 'identical_decodes': same,
      'jax_first_call_s': round(compile_s, 3), 'jax_s': round(jax_s, 4),
      'torch_s': round(torch_s, 4),
      'jax_tokens_per_s': round(n_tokens / jax_s, 1),
      'torch_tokens_per_s': round(n_tokens / torch_s, 1),
      'speedup_jax_over_torch': round(torch_s / jax_s, 2),
      'torch_s_by_threads': {str(k): round(v, 4) for k, v in torch_times.items()},
      'torch_threads': best_threads, 'device': str(jax.devices()[0].platform),
      'cpu_count': os.cpu_count(), 'load_average_1m': round(os.getloadavg()[0], 2),
  }
  print(json.dumps(result, indent=2))
  print(f"greedy decode, {args.config if not args.hf_dir else args.hf_dir}: "
        f"JAX {result['jax_tokens_per_s']} tok/s vs HF torch generate "
        f"{result['torch_tokens_per_s']} tok/s -> ratio {result['speedup_jax_over_torch']}x "
        f"(identical decodes: {same})")
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(result, f, indent=2)
  return 0 if same else 1


if __name__ == '__main__':
  sys.exit(main())
