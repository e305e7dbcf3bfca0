"""Cost of rating-token probabilities next to decoding alone.

Decodes a batch greedily, then reads the 5-way rating distribution with one teacher-forced
pass (`rating_probs.rating_distribution`), and, for comparison, the naive way: score each of
the five completions "<prefix> ### Rating ### d" with its own teacher-forced pass. Weights are
random in a named Flan-T5 shape; the vocabulary is a SentencePiece model trained here on
synthetic reasoning text (or --spm). Reports wall times and ratios.

  .venv/bin/python benchmarks/rating_probs_bench.py --config small --batch 8
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORDS = ('the user enjoys light moisturizers and gentle cleansers but avoids strong scents this '
         'serum is fragrance free like earlier purchases rated highly price fair quality good '
         'texture smooth skin felt soft would buy again').split()


def _texts(n: int, seed: int):
  rnd = random.Random(seed)
  for _ in range(n):
    reason = ' '.join(rnd.choices(WORDS, k=rnd.randint(10, 30)))
    yield f'### Reason ### {reason}. ### Rating ### {rnd.randint(1, 5)}'


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--config', default='small')
  parser.add_argument('--spm', help='SentencePiece model (default: train one on synthetic text)')
  parser.add_argument('--batch', type=int, default=8)
  parser.add_argument('--input-length', type=int, default=64)
  parser.add_argument('--decode-length', type=int, default=32)
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--json')
  args = parser.parse_args(argv)

  import jax
  import jax.numpy as jnp
  from recsaver_t5x.model import config as config_lib, decoding, network, rating_probs
  from recsaver_t5x.model import vocab as vocab_lib
  from recsaver_t5x.model.network import Transformer

  spm_path = args.spm
  if not spm_path:
    spm_path = vocab_lib.train_sentencepiece(
        _texts(2000, args.seed), os.path.join(tempfile.mkdtemp(), 'spm'), vocab_size=300)
  vocab = vocab_lib.get_vocabulary(spm_path)
  config = config_lib.get_config(args.config, dropout_rate=0.0)
  params = network.init_params(config, jax.random.PRNGKey(args.seed))
  tokens = rating_probs.rating_token_ids(vocab)

  rng = np.random.default_rng(args.seed)
  enc = np.zeros((args.batch, args.input_length), np.int32)
  for i in range(args.batch):
    n = int(rng.integers(args.input_length // 2, args.input_length + 1))
    enc[i, :n - 1] = rng.integers(3, vocab.vocab_size, n - 1)
    enc[i, n - 1] = 1
  length = args.decode_length

  def decode():
    out, _ = decoding.greedy_decode(config, params, enc, length)
    return np.asarray(jax.block_until_ready(out))

  decoded = decode().copy()  # first call compiles
  # Random weights rarely write the marker; half the rows get a real answer prefix so that
  # both the found-marker and the appended-marker paths are exercised.
  answer = list(vocab.encode('### Reason ### the user enjoys gentle cleansers. ### Rating ### 4'))
  for i in range(0, args.batch, 2):
    decoded[i] = 0
    decoded[i, :len(answer[:length - 1])] = answer[:length - 1]
    decoded[i, min(len(answer), length - 1)] = 1

  def one_pass():
    return rating_probs.rating_distribution(config, params, enc, decoded, tokens=tokens)

  encoded = decoding.encode(config, params, enc)

  def decode_shared():
    out, _ = decoding.greedy_decode(config, params, enc, length, encoded=encoded)
    return np.asarray(jax.block_until_ready(out))

  def one_pass_shared():
    return rating_probs.rating_distribution(config, params, enc, decoded, tokens=tokens,
                                            encoded=encoded)

  def encoder_only():
    return jax.block_until_ready(decoding.encode(config, params, enc))

  # Naive: five teacher-forced passes, each scoring the completion "<prefix> d" (sum of
  # log-probs); normalised over d this is the same distribution, at five times the cost.
  prefixes, _ = rating_probs.rating_prefixes(decoded, tokens)
  width = length + len(tokens.marker_ids) + len(tokens.prefix_ids) + 2
  model = Transformer(config)

  @jax.jit
  def score(p, e, dec_in, tgt):
    logits = model.apply({'params': p}, e, dec_in, tgt, enable_dropout=False)
    lp = jax.nn.log_softmax(logits)
    return jnp.sum(jnp.take_along_axis(lp, tgt[..., None], -1)[..., 0] * (tgt > 0), axis=-1)

  def five_passes():
    scores = []
    for d in tokens.digit_ids:
      tgt = np.zeros((args.batch, width), np.int32)
      for b, p in enumerate(prefixes):
        tgt[b, :len(p) + 1] = p + [d]
      dec_in = np.pad(tgt[:, :-1], ((0, 0), (1, 0)))
      scores.append(score(params, enc, dec_in, tgt))
    s = np.stack([np.asarray(x) for x in scores], axis=1)
    return np.exp(s - s.max(1, keepdims=True)) / np.exp(s - s.max(1, keepdims=True)).sum(1,
                                                                                        keepdims=True)

  dist = one_pass()
  np.testing.assert_allclose(one_pass_shared().probs, dist.probs, atol=1e-6)
  np.testing.assert_array_equal(decode_shared(), decode())
  naive = five_passes()
  max_diff = float(np.abs(naive - dist.probs).max())

  def best_of(fn):
    times = []
    for _ in range(args.repeats):
      t = time.perf_counter()
      fn()
      times.append(time.perf_counter() - t)
    return min(times)

  decode_s, rating_s, naive_s = best_of(decode), best_of(one_pass), best_of(five_passes)
  enc_s, shared_rating_s = best_of(encoder_only), best_of(one_pass_shared)
  result = {
      'config': args.config, 'batch': args.batch, 'input_length': args.input_length,
      'decode_length': length, 'marker_appended': dist.n_marker_appended,
      'decode_s': round(decode_s, 4), 'rating_pass_s': round(rating_s, 4),
      'five_scoring_passes_s': round(naive_s, 4), 'encoder_pass_s': round(enc_s, 4),
      'rating_pass_sharing_encoder_s': round(shared_rating_s, 4),
      'shared_rating_over_decode': round(shared_rating_s / decode_s, 3),
      'rating_over_decode': round(rating_s / decode_s, 3),
      'five_passes_over_one': round(naive_s / rating_s, 2),
      'max_abs_diff_vs_five_passes': max_diff,
      'load_average_1m': round(os.getloadavg()[0], 2),
  }
  print(json.dumps(result, indent=2))
  print(f"rating probabilities cost {result['rating_over_decode']:.1%} of greedy decoding "
        f"({rating_s:.3f}s vs {decode_s:.3f}s), "
        f"{result['shared_rating_over_decode']:.1%} when the decode's encoder output is reused; "
        f"five scoring passes would cost {result['five_passes_over_one']}x the single pass")
  if args.json:
    with open(args.json, 'w', encoding='utf-8') as f:
      json.dump(result, f, indent=2)
  return 0


if __name__ == '__main__':
  sys.exit(main())
