"""The decode function of an evaluation, an explicit choice: 'greedy' or 'beam:K'.

T5X's EncoderDecoderModel decodes with beam search by default, `recsaver evaluate` greedily;
both paths name their choice (gin/t5x/rating_model.gin: DECODE_FN, NUM_DECODES; here
`--decode`) so that their results are comparable. 'beam:K' is T5X's beam search (K beams,
length penalty alpha 0.6, the best beam kept).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.model import decoding

DecodeFn = Callable[[Any, Any, Any, int], Any]  # (model, params, inputs, max_length) -> tokens


@dataclasses.dataclass(frozen=True)
class DecodeChoice:
  name: str  # 'greedy' or 'beam'
  beams: int = 1

  def __str__(self) -> str:
    return self.name if self.name == "greedy" else f"beam:{self.beams}"

  def decode(self, model: Any, params: Any, inputs: Any, max_decode_length: int) -> Any:
    """Decoded tokens [batch, max_decode_length] (the best beam for beam search)."""
    if self.name == "greedy":
      return decoding.greedy_decode(model, params, inputs, max_decode_length)[0]
    return decoding.beam_search(model, params, inputs, max_decode_length,
                                num_beams=self.beams)[0]


def parse_decode(spec: str) -> DecodeChoice:
  """'greedy' -> greedy; 'beam:K' (K >= 1) -> beam search with K beams."""
  spec = spec.strip().lower()
  if spec == "greedy":
    return DecodeChoice("greedy")
  name, _, k = spec.partition(":")
  if name == "beam" and k.isdigit() and int(k) >= 1:
    return DecodeChoice("beam", int(k))
  raise UserFacingError(f"--decode: expected 'greedy' or 'beam:K' (K >= 1), got '{spec}'")
