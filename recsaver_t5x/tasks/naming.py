"""The one task-naming scheme of recsaver-t5x SeqIO tasks and mixtures.

Every name is lower-case `[a-z0-9_]` (valid for seqio and for gin strings):

  Train tasks (split "train"):
    recsaver_{domain}_reason_{filter}_m{M}   inputs: reasoning prompt;
                                             targets: "### Reason ###\\n{teacher reasoning}\\n
                                                       ### Rating ###\\n{true rating}"
                                             one row per kept teacher sample among the first M.
    recsaver_{domain}_rating                 inputs: rating-only prompt;
                                             targets: "### Rating ###\\n{true rating}"
                                             (no teacher samples, so no filter and no M).
  Eval tasks (splits "validation" and "test", both the prepared test split), with metric fns:
    recsaver_{domain}_reason_eval            reasoning prompt; targets as above when a teacher
                                             sample exists, else the rating part only.
    recsaver_{domain}_rating_eval            rating-only prompt.
  Mixtures across domains (equal rate per example, i.e. proportional to task size):
    recsaver_mix_{targets}_{filter}_m{M}     the train tasks of every listed domain;
    recsaver_mix_rating                      the rating-only train tasks;
    recsaver_mix_{targets}_eval              the eval tasks.

  filter is one of: all (no filter), exact (teacher rating == true rating, 5-class),
  binary (teacher and truth agree on rating > 3), oneoff (|teacher - truth| <= 1).
"""
from __future__ import annotations

import re

from recsaver_t5x.errors import UserFacingError

PREFIX = "recsaver"
TARGETS = ("reason", "rating")
FILTER_NAMES = ("all", "exact", "binary", "oneoff")
_DOMAIN_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


def check_domain(domain: str) -> str:
  """Validates a domain name: lower-case letters, digits, single underscores."""
  if not _DOMAIN_RE.match(domain) or domain.startswith("mix"):
    raise UserFacingError(
        f"bad domain name '{domain}': use lower-case letters, digits and single underscores "
        "(e.g. 'beauty', 'movies_tv'); names starting with 'mix' are reserved for mixtures")
  return domain


def _check(filter_name: str, m: int) -> None:
  if filter_name not in FILTER_NAMES:
    raise UserFacingError(f"unknown sample filter '{filter_name}'; choose from {FILTER_NAMES}")
  if int(m) < 1:
    raise UserFacingError(f"samples per example M must be >= 1, got {m}")


def train_task_name(domain: str, targets: str = "reason", filter_name: str = "all",
                    m: int = 1) -> str:
  """Name of a train task; `filter_name` and `m` only apply to reasoning targets."""
  check_domain(domain)
  if targets == "rating":
    return f"{PREFIX}_{domain}_rating"
  if targets != "reason":
    raise UserFacingError(f"unknown targets '{targets}'; choose from {TARGETS}")
  _check(filter_name, m)
  return f"{PREFIX}_{domain}_reason_{filter_name}_m{int(m)}"


def eval_task_name(domain: str, targets: str = "reason") -> str:
  check_domain(domain)
  if targets not in TARGETS:
    raise UserFacingError(f"unknown targets '{targets}'; choose from {TARGETS}")
  return f"{PREFIX}_{domain}_{targets}_eval"


def eval_targets(name: str) -> str:
  """'reason' or 'rating': the targets of an eval task or mixture, read from its name."""
  m = re.match(rf"^{PREFIX}_[a-z0-9_]+_({'|'.join(TARGETS)})_eval$", name)
  if not m:
    raise UserFacingError(f"'{name}' is no eval task name ({PREFIX}_<domain or mix>_<reason|rating>_eval)")
  return m.group(1)


def mixture_name(targets: str = "reason", filter_name: str = "all", m: int = 1,
                 eval_: bool = False) -> str:
  if targets not in TARGETS:
    raise UserFacingError(f"unknown targets '{targets}'; choose from {TARGETS}")
  if eval_:
    return f"{PREFIX}_mix_{targets}_eval"
  if targets == "rating":
    return f"{PREFIX}_mix_rating"
  _check(filter_name, m)
  return f"{PREFIX}_mix_reason_{filter_name}_m{int(m)}"


_PARSE_RE = re.compile(
    rf"^{PREFIX}_(?P<domain>[a-z0-9_]+?)_(?:(?P<rating>rating)(?P<reval>_eval)?|"
    r"reason_(?:(?P<eval>eval)|(?P<filter>all|exact|binary|oneoff)_m(?P<m>\d+)))$")


def parse_task_name(name: str) -> dict:
  """Inverse of the names above: {'domain', 'targets', 'filter', 'm', 'eval'}."""
  match = _PARSE_RE.match(name)
  if not match:
    raise UserFacingError(f"'{name}' is not a recsaver task name (see recsaver_t5x.tasks.naming)")
  g = match.groupdict()
  targets = "rating" if g["rating"] else "reason"
  is_eval = bool(g["reval"] or g["eval"])
  return {"domain": g["domain"], "targets": targets, "eval": is_eval,
          "filter": g["filter"], "m": int(g["m"]) if g["m"] else None}
