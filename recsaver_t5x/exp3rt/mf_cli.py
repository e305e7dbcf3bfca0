"""`recsaver mf-baseline`: cornac biased-MF predictions for a prepared split (EXP3RT table row).

    recsaver mf-baseline runs/x/prepared/magazine --out runs/x/exp3rt/magazine/mf.json
"""
from __future__ import annotations

import argparse

from recsaver_t5x import argtypes, paths as _p
from recsaver_t5x.exp3rt.preferences_cli import parse_scale
from recsaver_t5x.data import io as data_io


# Path arguments by role, checked before `main` (recsaver_t5x.paths.check_declared).
PATHS = {
    "prepared": data_io.PREPARED_DIR,
    "out": (_p.OUT_FILE, "output file"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
  p.add_argument("prepared", help="prepared dataset directory")
  p.add_argument("--out", required=True, help="output JSON (predictions and read-out errors)")
  p.add_argument("--split", default="test", choices=("train", "test"))
  p.add_argument("--factors", type=argtypes.positive_int, default=10)
  p.add_argument("--max-iter", type=argtypes.positive_int, default=200)
  p.add_argument("--seed", type=argtypes.nonneg_int, default=0)
  p.add_argument("--scale", default=None, type=argtypes.checked(parse_scale),
                 help="LOW..HIGH[:POSITIVE_ABOVE] (default: manifest's)")


def main(args: argparse.Namespace) -> int:
  # pylint: disable=import-outside-toplevel
  import json
  from recsaver_t5x.baseline.user_average import round_half_up
  from recsaver_t5x.exp3rt import corpus as corpus_lib, mf, readout

  corpus, scale = corpus_lib.load_for(args.prepared, parse_scale(args.scale))
  test = data_io.read_split(args.prepared, args.split)
  preds, cold = mf.predict(corpus, test, scale, mf.MFConfig(args.factors, args.max_iter,
                                                             seed=args.seed))
  y = [ex.true_rating for ex in test]
  metrics = {"parsed": readout.errors(y, [round_half_up(p) for p in preds], scale),
             "expected": readout.errors(y, preds, scale)}
  data_io.write_json_atomic(args.out, {
      "model": f"cornac MF (k={args.factors}, biased, SGD {args.max_iter} iters)",
      "scale": scale.to_dict(), "n_cold": cold, "metrics": metrics,
      "predictions": [{"example_id": ex.example_id, "true_rating": ex.true_rating, "predicted_rating": p}
                      for ex, p in zip(test, preds)]})
  print(json.dumps({"n": len(test), "n_cold": cold, "metrics": metrics}))
  return 0
