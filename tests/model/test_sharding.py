"""Sharded == unsharded on 8 simulated CPU devices (a 4x2 ('data', 'model') mesh)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a subprocess with 8 simulated devices: ~30 s of CPU
def test_sharded_equals_unsharded():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=8',
             JAX_PLATFORMS='cpu', PYTHONPATH=str(REPO) + os.pathsep + os.environ.get('PYTHONPATH', ''))
  proc = subprocess.run([sys.executable, str(REPO / 'tests' / 'model' / 'sharded_check.py')],
                        env=env, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  r = json.loads(proc.stdout.strip().splitlines()[-1])
  assert r['mesh'] == {'data': 4, 'model': 2}
  # Parameters really are split over 'model' by the T5X rules...
  assert r['wi_spec'] == "P(None, 'model')" and r['wi_shard'] == [16, 12]
  assert r['emb_spec'] == "P('model', None)" and r['emb_shard'] == [64, 16]
  assert r['grad_wi_spec'] == "P(None, 'model')"
  # ...activations follow the logical constraints, and the program communicates.
  assert r['logits_spec'] == "P('data', None, 'model')"
  assert r['collectives']
  assert r['logits_diff'] <= 1e-5 and r['grad_diff'] <= 1e-5 and r['loss_diff'] <= 1e-3
  assert r['greedy_equal'] and r['beam_equal'] and r['score_diff'] <= 1e-4
  assert "P('data',)" in r['tokens_sharding']
