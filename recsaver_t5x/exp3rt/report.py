"""The EXP3RT rating table (EXP3RT's layout: RMSE and MAE per read-out), next to the baselines.

Rows: the naive user-average baseline, the matrix-factorisation baseline, the first study's
reasoning student (parsed rating; argmax/expected from its rating-token probabilities when they
are on the same scale), and the EXP3RT student (student or teacher profiles). A cell is "-" when a
row has no such read-out. Every row states n and how many parsed read-outs were missing.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional, Sequence

from recsaver_t5x.exp3rt.readout import READOUTS


@dataclasses.dataclass(frozen=True)
class Row:
  label: str
  cells: Mapping[str, Mapping[str, float]]  # read-out -> {"rmse", "mae", "n", "n_missing"}

  @classmethod
  def from_readouts(cls, label: str, metrics: Mapping[str, Mapping]) -> "Row":
    return cls(label, dict(metrics))

  @property
  def n(self) -> Optional[int]:
    for r in READOUTS:
      if r in self.cells:
        return int(self.cells[r]["n"])
    return None


def _fmt(x: Optional[float]) -> str:
  return "-" if x is None else f"{x:.4f}"


def table(rows: Sequence[Row]) -> str:
  """A markdown table: one RMSE and one MAE column per read-out, then n and unparsed."""
  head = ["model"] + [f"{r} {m}" for r in READOUTS for m in ("RMSE", "MAE")] + ["n", "unparsed"]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for row in rows:
    cells = [row.label]
    for r in READOUTS:
      c = row.cells.get(r)
      cells += [_fmt(c["rmse"]) if c else "-", _fmt(c["mae"]) if c else "-"]
    parsed = row.cells.get("parsed")
    cells += [str(row.n if row.n is not None else "-"),
              str(int(parsed["n_missing"])) if parsed else "-"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)
