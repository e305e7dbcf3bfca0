"""A T5X model whose predictions carry the five rating-token probabilities (real T5X only).

    MODEL = @t5x_model.RatingEncoderDecoderModel()      # see gin/t5x/rating_model.gin

`predict_batch_with_aux` decodes as `t5x.models.EncoderDecoderModel` does and adds
aux['rating_probs'] [batch, 5] (P(rating = 1..5) at the position after "### Rating ###") and
aux['rating_marker_appended'] [batch]; seqio's predict_with_aux metric fns of our eval tasks
(binary and multi-class AUC) read them, and `t5x.infer` with mode='predict_with_aux' writes them.

This module imports T5X, which is not on PyPI (see gin/t5x/README.md); nothing else in the
toolkit imports it.
"""
from __future__ import annotations

from t5x import models  # pylint: disable=import-error

from recsaver_t5x.model.rating_probs import rating_token_ids
from recsaver_t5x.trainer import rating_aux
from recsaver_t5x.trainer.rating_aux import check_vocab_size


class RatingEncoderDecoderModel(models.EncoderDecoderModel):
  """EncoderDecoderModel + rating-token probabilities as auxiliary prediction outputs."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    check_vocab_size(self.module, self.input_vocabulary, self.output_vocabulary)
    self._rating_tokens = rating_token_ids(self.output_vocabulary)

  def predict_batch_with_aux(self, params, batch, rng=None, decoder_params=None,
                             return_all_decodes=None, num_decodes=None,
                             prompt_with_targets=False):
    decodes, aux = super().predict_batch_with_aux(
        params, batch, rng=rng, decoder_params=decoder_params,
        return_all_decodes=return_all_decodes, num_decodes=num_decodes,
        prompt_with_targets=prompt_with_targets)
    if decodes.ndim != 2:  # return_all_decodes: score the top beam (the last one)
      top = decodes[:, -1, :]
    else:
      top = decodes
    eos_id = self.output_vocabulary.eos_id or 1
    probs, appended = rating_aux.rating_probs(
        lambda b: self._compute_logits(params, b), batch["encoder_input_tokens"], top,
        self._rating_tokens, eos_id)
    aux = dict(aux)
    aux["rating_probs"] = probs
    aux["rating_marker_appended"] = appended
    return decodes, aux
