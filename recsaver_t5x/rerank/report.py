"""The rerank report: one markdown table per protocol, the result as JSON, an NDCG@k plot."""
from __future__ import annotations

import json
import os

from recsaver_t5x.rerank.candidates import PROTOCOLS


def _fmt(v) -> str:
  return f"{v:.4f}" if isinstance(v, float) else str(v)


def markdown(result: dict) -> str:
  """Tables (retriever first, then each reranker) for both protocols, labelled."""
  ks, n_users = result["ks"], result["eval_users"]
  cols = [f"recall@{k}" for k in ks] + [f"ndcg@{k}" for k in ks] + ["mrr"]
  s = result["split"]
  lines = [f"# Top-{result['n']} reranking",
           "",
           f"Split: leave-last-out by {s['split_by']} ({s['test_users']} test users, "
           f"{s['cold_heldout_dropped']} dropped: held-out item unseen in training; "
           f"{s['train_interactions']} training interactions, {s['items']} items). "
           f"Evaluated users: {n_users}.",
           f"Retriever hit rate at N={result['n']}: {result['hit_rate_at_n']:.4f} on the evaluated users, "
           f"{result['hit_rate_at_n_all_users']:.4f} on all {result['test_users']} test users.",
           ""]
  for proto in PROTOCOLS:
    note = ("candidates = the retriever's top-N; a missed held-out item scores 0 for every method"
            if proto == "as retrieved" else
            "a missed held-out item replaces the N-th candidate (the common, optimistic protocol)")
    lines += [f"## Protocol: {proto}", "", f"({note})", "",
              "| method | " + " | ".join(cols) + " | s/user | calls/user |",
              "|---|" + "---:|" * (len(cols) + 2)]
    for m in result["methods"]:
      per = max(n_users, 1)
      lines.append(f"| {m['name']} | " + " | ".join(_fmt(m["metrics"][proto][c]) for c in cols)
                   + f" | {m['seconds'] / per:.4g} | {m['calls'] / per:.4g} |")
    lines.append("")
  return "\n".join(lines)


def plot_ndcg(result: dict, path: str) -> None:
  """NDCG@k for k = 1..N, one line per method, one panel per protocol."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, len(PROTOCOLS), figsize=(5.5 * len(PROTOCOLS), 4), sharey=True)
  for ax, proto in zip(axes, PROTOCOLS):
    for j, m in enumerate(result["methods"]):
      curve = m["curves"][proto]
      # the retriever (first) drawn wide and dashed: a reranker that keeps its order lies on it
      style = {"linestyle": "--", "linewidth": 3, "alpha": 0.5} if j == 0 else {"marker": "."}
      ax.plot(range(1, len(curve) + 1), curve, label=m["name"], **style)
    ax.set_title(f"protocol: {proto}")
    ax.set_xlabel("k")
    ax.grid(alpha=0.3)
  axes[0].set_ylabel(f"NDCG@k ({result['eval_users']} users)")
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write(result: dict, out_dir: str) -> dict[str, str]:
  """rerank.md, rerank.json, ndcg_at_k.png in `out_dir`; returns their paths."""
  os.makedirs(out_dir, exist_ok=True)
  paths = {k: os.path.join(out_dir, f) for k, f in
           (("md", "rerank.md"), ("json", "rerank.json"), ("png", "ndcg_at_k.png"))}
  with open(paths["md"], "w", encoding="utf-8") as f:
    f.write(markdown(result) + "\n")
  tmp = paths["json"] + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
  os.replace(tmp, paths["json"])
  plot_ndcg(result, paths["png"])
  return paths
