"""The malformed-input corpus of issue 13: every subcommand, every file type it reads.

Each case is (id, argv, files, needles): `argv` is one string whose `{d}` is the case's
directory; `{port}` is a loopback port another
socket listens on; `files` maps paths under `{d}` to their content (bytes, str, or a callable of the
directory), written over the shared valid fixture (see `write_fixture`); `needles` are the words
the one error line must contain (the file or flag it names, the line, the field). A case whose
needles start with "SKIP:" expects exit 0 and a reported counted skip instead of an error.

Teacher commands point at a closed loopback port, so a case that got past its input checks
would show up as a connection error, never as silent success.
"""
from __future__ import annotations

import gzip
import json
import os
from typing import Callable, NamedTuple, Union

# --------------------------------------------------------------------------- bytes

LATIN1 = "caf\xe9".encode("latin-1")           # a Latin-1 byte: not UTF-8
BOM = b"\xef\xbb\xbf"
GARBAGE = bytes(range(256)) * 3                  # binary: NUL, high bytes, no newline structure
TEACHER = ("--teacher-base-url http://127.0.0.1:9/v1 --teacher-model m --max-retries 0 "
           "--request-deadline 5")


def review(**kw) -> dict:
  r = {"overall": 5.0, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1400000000,
       "reviewText": "fine", "summary": "ok"}
  r.update(kw)
  return {k: v for k, v in r.items() if v is not ...}


def jl(*objs) -> bytes:
  return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def truncated_gz(data: bytes) -> bytes:
  z = gzip.compress(data)
  return z[: len(z) // 2]


def raw_reviews(n_users: int = 12, per_user: int = 7, **override) -> bytes:
  """A small valid 2018-layout review file: every user rates every 1..5 value."""
  rows = []
  for u in range(n_users):
    for j in range(per_user):
      rows.append(review(reviewerID=f"u{u}", asin=f"i{(u * 3 + j) % 40}", overall=float((u + j) % 5 + 1),
                         unixReviewTime=1400000000 + 86400 * j, reviewText=f"text {u} {j}"))
  return jl(*rows)


# --------------------------------------------------------------------------- the valid fixture


def example(i: int, rating: int = 4, split: str = "test") -> dict:
  hist = [{"item": {"asin": f"h{i}{j}", "title": f"thing {j}", "brand": "acme",
                    "categories": ["a", "b"], "description": "nice", "price": "$5"},
           "rating": j % 5 + 1, "review": f"review {j}", "summary": "ok", "timestamp": 1000 + j}
          for j in range(3)]
  return {"example_id": f"ex{i}", "domain": "beauty", "user_id": f"u{i}", "history": hist,
          "target": {"asin": f"t{i}", "title": "serum"}, "true_rating": rating,
          "timestamp": 2000, "split": split}


def manifest(d: str, **override) -> dict:
  m = {"config": {"domain": "beauty", "skip_bad_records": False},
       "counts": {"train": {"examples": 5, "users": 5, "per_label": {}},
                  "test": {"examples": 5, "users": 5, "per_label": {}}},
       "rating_scale": {"low": 1, "high": 5, "positive_above": 3},
       "sources": [{"path": os.path.join(d, "raw", "reviews.json"), "role": "reviews"}]}
  m.update(override)
  return m


def store_line(eid: str = "ex0", text: str = "### Rating ###\n4", idx: int = 0) -> bytes:
  return (json.dumps({"key": [eid, "reasoning", "m", 0.7, idx], "text": text}) + "\n").encode()


def write_fixture(d: str) -> None:
  """The valid inputs every case starts from (cases overwrite one file with a bad one)."""
  files = {
      "raw/reviews.json": raw_reviews(),
      "prep/train.jsonl": jl(*(example(100 + i, i % 5 + 1, "train") for i in range(5))),
      "prep/test.jsonl": jl(*(example(i, i % 5 + 1) for i in range(5))),
      "prep/manifest.json": json.dumps(manifest(d)).encode(),
      "store.jsonl": b"".join(store_line(f"ex{i}") for i in range(5)),
      "refs.jsonl": jl(*({"example_id": f"ex{i}", "true_rating": i % 5 + 1,
                          "references": [f"because {i}"], "unverified_references": ["x"]}
                         for i in range(5))),
      "cands.jsonl": jl(*({"example_id": f"ex{i}", "text": f"### Reason ###\nok\n### Rating ###\n{i % 5 + 1}"}
                          for i in range(5))),
      "ann.csv": (b"annotator,example_id,coherence,faithfulness,insightfulness,correct\n"
                  b"a,ex0,4,1,3,true\nb,ex0,5,1,4,true\na,ex1,2,0,2,false\nb,ex1,3,0,2,false\n"),
      "metrics.jsonl": jl(*({"example_id": f"ex{i}", "bleu": 0.1 * i, "correct": i % 2 == 0}
                            for i in range(2))),
      "eval/stud/predictions_t.jsonl": jl(*({"example_id": f"ex{i}", "text":
                                             f"### Reason ###\nbecause {i}\n### Rating ###\n4",
                                             "true_rating": i % 5 + 1, "predicted_rating": 4,
                                             "probs": [0.2] * 5} for i in range(5))),
      "mf.json": json.dumps({"model": "mf", "predictions": [
          {"example_id": f"ex{i}", "true_rating": i % 5 + 1, "predicted_rating": 3.5}
          for i in range(5)]}).encode(),
      "exp/config.json": json.dumps({
          "prepared": os.path.join(d, "prep"), "domain": "beauty", "teacher_model": "m",
          "selection": {"user_cap": 4, "item_cap": 3, "criterion": "helpful", "item_pool": 30},
          "scale": {"low": 1, "high": 5, "positive_above": 3},
          "extract": {"temperature": 0.1, "max_tokens": 200, "base_seed": 0},
          "budget": {"review_chars": 600}, "splits": "train,test", "limit": None}).encode(),
      "exp/selection.jsonl": b"",
      "exp/preferences.jsonl": b"",
      "exp/profiles.jsonl": b"",
      "tasks.json": json.dumps({"vocabulary": "spm.model", "ms": [1], "filters": ["all"],
                                "domains": [{"name": "beauty", "prepared_dir": "prep"}]}).encode(),
      "run.toml": (f'run_dir = "{d}/runs/x"\n[[domains]]\nname = "beauty"\n'
                   f'reviews = ["{d}/raw/reviews.json"]\n').encode(),
      "evalm.json": json.dumps({"task": "t", "step": 1, "metrics": {"all": {"n": 1}}}).encode(),
      "rundir/stages/.keep": b"",
  }
  for rel, content in files.items():
    put(d, rel, content)
  os.makedirs(os.path.join(d, "emptydir"), exist_ok=True)


Content = Union[bytes, str, Callable[[str], bytes]]


def put(d: str, rel: str, content: Content) -> None:
  path = os.path.join(d, rel)
  if content is DIR:
    if os.path.isfile(path):
      os.unlink(path)
    os.makedirs(path, exist_ok=True)
    return
  os.makedirs(os.path.dirname(path), exist_ok=True)
  if callable(content):
    content = content(d)
  with open(path, "wb") as f:
    f.write(content.encode() if isinstance(content, str) else content)


DIR = object()  # files={path: DIR}: a directory where a file is expected


class Case(NamedTuple):
  id: str
  argv: str
  files: dict
  needles: tuple
  slow: bool = False
  locked: str = ""   # a directory under {d} made immutable (chattr +i) for the case


def C(id, argv, needles, files=None, **kw) -> Case:  # pylint: disable=invalid-name,redefined-builtin
  needles = (needles,) if isinstance(needles, str) else tuple(needles)
  return Case(id, argv, files or {}, needles, **kw)


P = "{d}/prep"
T = TEACHER
CAP = "--mode cap --train-per-label 1 --test-per-label 1 --min-history 1"  # prepare succeeds

# --------------------------------------------------------------------------- the cases

CASES = [
    # ---------------------------------------------------------------- prepare
    C("prepare/train-per-label-negative", "prepare --reviews {d}/raw/reviews.json --out {d}/o --train-per-label -1",
      "argument --train-per-label: must be >= 0, got -1"),
    C("prepare/train-per-label-word", "prepare --reviews {d}/raw/reviews.json --out {d}/o --train-per-label many",
      "argument --train-per-label: not an integer: 'many'"),
    C("prepare/seed-negative", "prepare --reviews {d}/raw/reviews.json --out {d}/o --seed -1",
      "argument --seed: must be >= 0"),
    C("prepare/memory-lots", "prepare --reviews {d}/raw/reviews.json --out {d}/o --memory-limit lots",
      "argument --memory-limit: not a memory size: 'lots'"),
    C("prepare/memory-zero", "prepare --reviews {d}/raw/reviews.json --out {d}/o --memory-limit 0GB",
      "argument --memory-limit: not a memory size"),
    C("prepare/max-examples-zero", "prepare --reviews {d}/raw/reviews.json --out {d}/o --max-examples-per-user 0",
      "argument --max-examples-per-user: must be >= 1"),
    C("prepare/mode-unknown", "prepare --reviews {d}/raw/reviews.json --out {d}/o --mode loose",
      ("argument --mode: invalid choice: 'loose'",)),
    C("prepare/ingest-unknown", "prepare --reviews {d}/raw/reviews.json --out {d}/o --ingest fast",
      "argument --ingest: invalid choice: 'fast'"),
    C("prepare/scale-reversed", "prepare --reviews {d}/raw/reviews.json --out {d}/o --scale 5..1:3",
      ("--scale", "5..1:3")),
    C("prepare/scale-word", "prepare --reviews {d}/raw/reviews.json --out {d}/o --scale stars",
      ("--scale", "stars")),
    C("prepare/history-bounds", "prepare --reviews {d}/raw/reviews.json --out {d}/o --min-history 6 --max-history 3",
      "--min-history 6 is above --max-history 3"),
    C("prepare/reviews-missing", "prepare --reviews {d}/nope.json --out {d}/o", "{d}/nope.json: no such"),
    C("prepare/reviews-directory", "prepare --reviews {d}/emptydir --out {d}/o",
      "{d}/emptydir: is a directory, expected a review file"),
    C("prepare/reviews-latin1", "prepare --reviews {d}/r.json --out {d}/o",
      ("{d}/r.json:1",), files={"r.json": b'{"reviewText": "' + LATIN1 + b'"}\n'}),
    C("prepare/reviews-empty", "prepare --reviews {d}/r.json --out {d}/o", "{d}/r.json",
      files={"r.json": b""}),
    C("prepare/reviews-garbage", "prepare --reviews {d}/r.json --out {d}/o", "{d}/r.json:1",
      files={"r.json": GARBAGE}),
    C("prepare/reviews-truncated-gzip", "prepare --reviews {d}/r.json.gz --out {d}/o",
      ("{d}/r.json.gz", "gzip"), files={"r.json.gz": truncated_gz(raw_reviews())}),
    C("prepare/reviews-bad-gzip", "prepare --reviews {d}/r.json.gz --out {d}/o",
      ("{d}/r.json.gz", "gzip"), files={"r.json.gz": b"\x1f\x8b" + GARBAGE}),
    C("prepare/reviews-json-array", "prepare --reviews {d}/r.json --out {d}/o", "{d}/r.json:1",
      files={"r.json": json.dumps([review()]) + "\n"}),
    C("prepare/rating-word", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:2", "overall"),
      files={"r.json": jl(review(), review(overall="five"))}),
    C("prepare/rating-off-scale", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1", "overall", "1..5"),
      files={"r.json": jl(review(overall=7))}),
    C("prepare/rating-negative", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1", "overall"),
      files={"r.json": jl(review(overall=-1))}),
    C("prepare/rating-nan", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1",),
      files={"r.json": b'{"overall": NaN, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1}\n'}),
    C("prepare/rating-inf", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1",),
      files={"r.json": b'{"overall": 1e999, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1}\n'}),
    C("prepare/rating-huge-int", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1",),
      files={"r.json": b'{"overall": 123456789012345678901234567890, "reviewerID": "u1", "asin": "a1", "unixReviewTime": 1}\n'}),
    C("prepare/user-null", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1", "reviewerID"),
      files={"r.json": jl(review(reviewerID=None))}),
    C("prepare/asin-missing", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1", "asin"),
      files={"r.json": jl(review(asin=...))}),
    C("prepare/time-word", "prepare --reviews {d}/r.json --out {d}/o", ("{d}/r.json:1", "unixReviewTime"),
      files={"r.json": jl(review(unixReviewTime="yesterday"))}),
    C("prepare/text-list-joined", f"prepare --reviews {{d}}/r.json --out {{d}}/o {CAP}",
      "SKIP:reviews fields: lists joined review 1",
      files={"r.json": raw_reviews() + jl(review(reviewText=["a", "b"]))}),
    C("prepare/text-dict-rejected", f"prepare --reviews {{d}}/r.json --out {{d}}/o {CAP}",
      "SKIP:reviews fields: wrong type (now missing) review 1",
      files={"r.json": raw_reviews() + jl(review(reviewText={"en": "fine"}))}),
    C("prepare/meta-title-list", f"prepare --reviews {{d}}/raw/reviews.json --meta {{d}}/m.json --out {{d}}/o {CAP}",
      "SKIP:metadata fields: lists joined title 1", files={"m.json": jl({"asin": "i1", "title": ["Album 3", "Deluxe"]})}),
    C("prepare/meta-price-dict", f"prepare --reviews {{d}}/raw/reviews.json --meta {{d}}/m.json --out {{d}}/o {CAP}",
      "SKIP:metadata fields: wrong type (now missing) price 1", files={"m.json": jl({"asin": "i1", "title": "t", "price": {"usd": 3}})}),
    C("prepare/2023-rating-word", "prepare --reviews {d}/r.jsonl --out {d}/o", ("{d}/r.jsonl:1", "rating"),
      files={"r.jsonl": jl({"rating": "five", "title": "t", "text": "x", "asin": "a", "parent_asin": "a",
                            "user_id": "u", "timestamp": 1588615855070, "helpful_vote": 0,
                            "verified_purchase": True})}),
    C("prepare/out-is-input", "prepare --reviews {d}/raw/reviews.json --out {d}/raw/reviews.json",
      "the output is the input"),
    C("prepare/out-under-file", "prepare --reviews {d}/raw/reviews.json --out {d}/raw/reviews.json/o",
      ("output directory", "{d}/raw/reviews.json/o")),
    C("prepare/out-locked", "prepare --reviews {d}/raw/reviews.json --out {d}/locked",
      ("output directory {d}/locked",), locked="locked"),
    C("prepare/meta-missing", "prepare --reviews {d}/raw/reviews.json --meta {d}/nometa.json --out {d}/o",
      "{d}/nometa.json"),
    C("prepare/meta-directory", "prepare --reviews {d}/raw/reviews.json --meta {d}/emptydir --out {d}/o",
      "{d}/emptydir: is a directory"),
    C("prepare/meta-latin1", f"prepare --reviews {{d}}/raw/reviews.json --meta {{d}}/m.json --out {{d}}/o {CAP}",
      "{d}/m.json", files={"m.json": b'{"asin": "i1", "title": "' + LATIN1 + b'"}\n'}),
    C("prepare/meta-truncated-gzip", f"prepare --reviews {{d}}/raw/reviews.json --meta {{d}}/m.json.gz --out {{d}}/o {CAP}",
      "{d}/m.json.gz", files={"m.json.gz": truncated_gz(jl(*({"asin": f"i{i}", "title": "t" * 50}
                                                              for i in range(400))))}),
    C("prepare/skip-counted", "prepare --reviews {d}/r.json --out {d}/o --skip-bad-records --mode cap "
      "--train-per-label 1 --test-per-label 1 --min-history 1", "SKIP:skipped 2 bad records",
      files={"r.json": raw_reviews() + jl(review(overall="five"), review(overall=9))}),
    C("prepare/timestamps-counted", "prepare --reviews {d}/r.json --out {d}/o --mode cap "
      "--train-per-label 1 --test-per-label 1 --min-history 1",
      "SKIP:2 reviews have an implausible timestamp",
      files={"r.json": raw_reviews() + jl(review(reviewerID="u1", asin="z1", unixReviewTime=-5),
                                          review(reviewerID="u1", asin="z2", unixReviewTime=99999999999))}),

    # ---------------------------------------------------------------- synth
    C("synth/users-word", "synth --out {d}/s --users lots", "argument --users: not a count: 'lots'"),
    C("synth/users-negative", "synth --out {d}/s --users -5", "argument --users"),
    C("synth/users-zero", "synth --out {d}/s --users 0", "--users must be >= 1"),
    C("synth/items-zero", "synth --out {d}/s --items 0", "--items must be in"),
    C("synth/reviews-range-reversed", "synth --out {d}/s --reviews-per-user 9-2", "reviews per user: need 1 <= min <= max"),
    C("synth/reviews-range-zero", "synth --out {d}/s --reviews-per-user 0", "reviews per user: need 1 <= min <= max"),
    C("synth/skew-word", "synth --out {d}/s --rating-skew a,b", "argument --rating-skew"),
    C("synth/skew-one-share", "synth --out {d}/s --rating-skew 1", "rating skew needs 2..10"),
    C("synth/skew-negative", "synth --out {d}/s --rating-skew=-1,1,1,1,1", "argument --rating-skew"),
    C("synth/skew-nan", "synth --out {d}/s --rating-skew nan,1,1,1,1", "argument --rating-skew"),
    C("synth/noise-negative", "synth --out {d}/s --noise -1", "argument --noise: must be in [0, inf]"),
    C("synth/duplicate-rate-one", "synth --out {d}/s --duplicate-rate 1", "argument --duplicate-rate"),
    C("synth/gzip-level", "synth --out {d}/s --gzip-level 12", "argument --gzip-level: must be <= 9"),
    C("synth/decay-zero", "synth --out {d}/s --reviews-decay 0", "argument --reviews-decay"),
    C("synth/out-is-file", "synth --out {d}/raw/reviews.json --users 10 --items 40 --no-progress",
      "{d}/raw/reviews.json"),
    C("synth/out-locked", "synth --out {d}/locked --users 10 --items 40 --no-progress", "{d}/locked",
      locked="locked"),

    # ---------------------------------------------------------------- baseline
    C("baseline/prepared-missing", "baseline {d}/nope", "{d}/nope"),
    C("baseline/prepared-is-file", "baseline {d}/raw/reviews.json", "{d}/raw/reviews.json"),
    C("baseline/no-manifest", "baseline {d}/prep", "manifest.json",
      files={"prep/manifest.json": DIR}),
    C("baseline/manifest-garbage", "baseline {d}/prep", "{d}/prep/manifest.json",
      files={"prep/manifest.json": GARBAGE}),
    C("baseline/manifest-not-json", "baseline {d}/prep", "{d}/prep/manifest.json",
      files={"prep/manifest.json": b"{config: 1"}),
    C("baseline/manifest-array", "baseline {d}/prep", ("{d}/prep/manifest.json", "object"),
      files={"prep/manifest.json": b"[]"}),
    C("baseline/manifest-no-domain", "baseline {d}/prep", ("{d}/prep/manifest.json", "config"),
      files={"prep/manifest.json": b'{"config": {}}'}),
    C("baseline/manifest-empty", "baseline {d}/prep", "{d}/prep/manifest.json",
      files={"prep/manifest.json": b""}),
    C("baseline/examples-latin1", "baseline {d}/prep", "{d}/prep/test.jsonl",
      files={"prep/test.jsonl": b'{"example_id": "' + LATIN1 + b'"}\n'}),
    C("baseline/examples-bom", "baseline {d}/prep", "SKIP:",
      files={"prep/test.jsonl": lambda d: BOM + jl(example(0))}),
    C("baseline/examples-not-json", "baseline {d}/prep", "{d}/prep/test.jsonl:2",
      files={"prep/test.jsonl": jl(example(0)) + b"{oops\n"}),
    C("baseline/examples-array", "baseline {d}/prep", "{d}/prep/test.jsonl:1",
      files={"prep/test.jsonl": b"[1, 2]\n"}),
    C("baseline/example-rating-word", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "true_rating"),
      files={"prep/test.jsonl": jl({**example(0), "true_rating": "five"})}),
    C("baseline/example-rating-off-scale", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "true_rating", "1..5"),
      files={"prep/test.jsonl": jl({**example(0), "true_rating": 9})}),
    C("baseline/example-rating-null", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "true_rating"),
      files={"prep/test.jsonl": jl({**example(0), "true_rating": None})}),
    C("baseline/example-history-dict", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "history"),
      files={"prep/test.jsonl": jl({**example(0), "history": {"item": 1}})}),
    C("baseline/example-history-rating-nan", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "not valid JSON"),
      files={"prep/test.jsonl": b'{"example_id": "e", "domain": "b", "user_id": "u", "history": '
                                b'[{"item": {"asin": "x"}, "rating": NaN, "timestamp": 1}], '
                                b'"target": {"asin": "t"}, "true_rating": 4, "timestamp": 2}\n'}),
    C("baseline/example-missing-target", "baseline {d}/prep", ("{d}/prep/test.jsonl:1", "target"),
      files={"prep/test.jsonl": jl({k: v for k, v in example(0).items() if k != "target"})}),
    C("baseline/split-unknown", "baseline {d}/prep --split val", "argument --split: invalid choice"),
    C("baseline/out-is-file", "baseline {d}/prep --out {d}/raw/reviews.json", "{d}/raw/reviews.json"),

    # ---------------------------------------------------------------- zeroshot
    C("zeroshot/unparsed-unknown", f"zeroshot {P} --out {{d}}/z --unparsed guess {T}",
      "argument --unparsed: unknown unparsed policy 'guess'"),
    C("zeroshot/unparsed-distribution", f"zeroshot {P} --out {{d}}/z --unparsed distribution {T}",
      "--unparsed"),
    C("zeroshot/unparsed-fallback-off-scale", f"zeroshot {P} --out {{d}}/z --unparsed fallback:9 {T}",
      "argument --unparsed"),
    C("zeroshot/variants-unknown", f"zeroshot {P} --out {{d}}/z --variants reasoning,bogus {T}", "bogus"),
    C("zeroshot/limit-zero", f"zeroshot {P} --out {{d}}/z --limit 0 {T}", "argument --limit: must be >= 1"),
    C("zeroshot/max-tokens-word", f"zeroshot {P} --out {{d}}/z --max-tokens lots {T}", "argument --max-tokens"),
    C("zeroshot/temperature-inf", f"zeroshot {P} --out {{d}}/z --temperature inf {T}", "argument --temperature"),
    C("zeroshot/concurrency-zero", f"zeroshot {P} --out {{d}}/z --concurrency 0 {T}", "argument --concurrency"),
    C("zeroshot/timeout-zero", f"zeroshot {P} --out {{d}}/z --timeout 0 {T}", "argument --timeout"),
    C("zeroshot/retries-negative", f"zeroshot {P} --out {{d}}/z --max-retries -1 {T}", "argument --max-retries"),
    C("zeroshot/deadline-zero", f"zeroshot {P} --out {{d}}/z --request-deadline 0 {T}", "argument --request-deadline"),
    C("zeroshot/constrained-unknown", f"zeroshot {P} --out {{d}}/z --constrained yes {T}", "argument --constrained"),
    C("zeroshot/teacher-ctx-zero", f"zeroshot {P} --out {{d}}/z --teacher-ctx 0 {T}", "argument --teacher-ctx"),
    C("zeroshot/base-url-no-model", f"zeroshot {P} --out {{d}}/z --teacher-base-url http://127.0.0.1:9/v1",
      "--teacher-model"),
    C("zeroshot/base-url-no-scheme", f"zeroshot {P} --out {{d}}/z --teacher-base-url 127.0.0.1:9 --teacher-model m",
      "127.0.0.1:9"),
    C("zeroshot/teacher-gguf-garbage", f"zeroshot {P} --out {{d}}/z --teacher-gguf {{d}}/g.gguf",
      "{d}/g.gguf: not a GGUF model file", files={"g.gguf": b"GGML" + GARBAGE}),
    C("zeroshot/teacher-gguf-directory", f"zeroshot {P} --out {{d}}/z --teacher-gguf {{d}}/emptydir",
      "{d}/emptydir: is a directory, expected a GGUF model file"),
    C("zeroshot/prepared-missing", f"zeroshot {{d}}/nope --out {{d}}/z {T}", "{d}/nope"),
    C("zeroshot/out-is-file", f"zeroshot {P} --out {{d}}/raw/reviews.json {T}", "{d}/raw/reviews.json"),
    C("zeroshot/out-locked", f"zeroshot {P} --out {{d}}/locked {T}", "{d}/locked", locked="locked"),
    C("zeroshot/store-directory", f"zeroshot {P} --out {{d}}/z --store {{d}}/emptydir {T}",
      "{d}/emptydir: is a directory"),
    C("zeroshot/store-latin1", f"zeroshot {P} --out {{d}}/z --store {{d}}/s.jsonl {T}", "{d}/s.jsonl",
      files={"s.jsonl": store_line() + b'{"text": "' + LATIN1 + b'"}\n' + store_line("ex1")}),
    C("zeroshot/store-garbage", f"zeroshot {P} --out {{d}}/z --store {{d}}/s.jsonl {T}", "{d}/s.jsonl:1",
      files={"s.jsonl": GARBAGE + b"\n" + store_line()}),
    C("zeroshot/store-is-input", f"zeroshot {P} --out {{d}}/z --store {P}/test.jsonl {T}",
      "{d}/prep/test.jsonl"),
    C("zeroshot/scale-word", f"zeroshot {P} --out {{d}}/z {T}", ("{d}/prep/manifest.json", "rating_scale"),
      files={"prep/manifest.json": lambda d: json.dumps(manifest(d, rating_scale={"low": "one", "high": 5}))}),
    C("zeroshot/scale-reversed", f"zeroshot {P} --out {{d}}/z {T}", ("{d}/prep/manifest.json", "rating_scale"),
      files={"prep/manifest.json": lambda d: json.dumps(manifest(d, rating_scale={"low": 5, "high": 1,
                                                                                    "positive_above": 3}))}),
    C("zeroshot/scale-list", f"zeroshot {P} --out {{d}}/z {T}", ("{d}/prep/manifest.json", "rating_scale"),
      files={"prep/manifest.json": lambda d: json.dumps(manifest(d, rating_scale=[1, 5]))}),

    # ---------------------------------------------------------------- sample
    C("sample/samples-zero", f"sample {P} --store {{d}}/s.jsonl -M 0 {T}", "argument --samples/-M: must be >= 1"),
    C("sample/limit-negative", f"sample {P} --store {{d}}/s.jsonl --limit -1 {T}", "argument --limit"),
    C("sample/seed-word", f"sample {P} --store {{d}}/s.jsonl --seed x {T}", "argument --seed"),
    C("sample/variant-unknown", f"sample {P} --store {{d}}/s.jsonl --variant bogus {T}", "bogus"),
    C("sample/variant-one-shot", f"sample {P} --store {{d}}/s.jsonl --variant one_shot {T}", "one_shot"),
    C("sample/split-unknown", f"sample {P} --store {{d}}/s.jsonl --split val {T}", "argument --split"),
    C("sample/store-directory", f"sample {P} --store {{d}}/emptydir {T}", "{d}/emptydir: is a directory"),
    C("sample/store-under-file", f"sample {P} --store {{d}}/raw/reviews.json/s.jsonl {T}",
      "{d}/raw/reviews.json"),
    C("sample/store-locked", f"sample {P} --store {{d}}/locked/s.jsonl {T}", "{d}/locked", locked="locked"),
    C("sample/store-is-input", f"sample {P} --store {P}/train.jsonl {T}", "{d}/prep/train.jsonl"),
    C("sample/store-bad-key", f"sample {P} --store {{d}}/s.jsonl {T}", "{d}/s.jsonl:1",
      files={"s.jsonl": b'{"key": "ex0", "text": "x"}\n' + store_line()}),
    C("sample/store-truncated-gzip", f"sample {P} --store {{d}}/s.jsonl {T}", "{d}/s.jsonl:1",
      files={"s.jsonl": truncated_gz(store_line() * 50) + b"\n" + store_line()}),
    C("sample/prepared-no-train", f"sample {P} --store {{d}}/s.jsonl {T}", "train.jsonl",
      files={"prep/train.jsonl": DIR}),
    C("sample/examples-latin1", f"sample {P} --store {{d}}/s.jsonl {T}", "{d}/prep/train.jsonl",
      files={"prep/train.jsonl": b'{"domain": "' + LATIN1 + b'"}\n'}),

    # ---------------------------------------------------------------- references
    C("references/n-zero", f"references {P} --store {{d}}/s.jsonl --out {{d}}/r.jsonl -N 0 {T}",
      "argument --explanations/-N: must be >= 1"),
    C("references/verify-tokens-zero", f"references {P} --store {{d}}/s.jsonl --out {{d}}/r.jsonl --verify-max-tokens 0 {T}",
      "argument --verify-max-tokens"),
    C("references/verify-temperature-negative", f"references {P} --store {{d}}/s.jsonl --out {{d}}/r.jsonl --verify-temperature -1 {T}",
      "argument --verify-temperature"),
    C("references/out-is-store", f"references {P} --store {{d}}/store.jsonl --out {{d}}/store.jsonl {T}",
      "the output is the input"),
    C("references/out-is-examples", f"references {P} --store {{d}}/s.jsonl --out {P}/test.jsonl {T}",
      "{d}/prep/test.jsonl: the output is a file of the input {d}/prep"),
    C("references/out-directory", f"references {P} --store {{d}}/s.jsonl --out {{d}}/emptydir {T}",
      "{d}/emptydir: is a directory"),
    C("references/out-locked", f"references {P} --store {{d}}/s.jsonl --out {{d}}/locked/r.jsonl {T}",
      "{d}/locked", locked="locked"),
    C("references/store-directory", f"references {P} --store {{d}}/emptydir --out {{d}}/r.jsonl {T}",
      "{d}/emptydir: is a directory"),
    C("references/prepared-is-file", f"references {{d}}/raw/reviews.json --store {{d}}/s.jsonl --out {{d}}/r.jsonl {T}",
      "{d}/raw/reviews.json"),
    C("references/examples-missing-field", f"references {P} --store {{d}}/s.jsonl --out {{d}}/r.jsonl {T}",
      ("{d}/prep/test.jsonl:1", "user_id"),
      files={"prep/test.jsonl": jl({k: v for k, v in example(0).items() if k != "user_id"})}),

    # ---------------------------------------------------------------- reasoning-metrics
    C("reasoning-metrics/refs-missing", "reasoning-metrics --references {d}/nope.jsonl --candidates {d}/cands.jsonl",
      "{d}/nope.jsonl: no such references file"),
    C("reasoning-metrics/refs-directory", "reasoning-metrics --references {d}/emptydir --candidates {d}/cands.jsonl",
      "{d}/emptydir: is a directory"),
    C("reasoning-metrics/refs-latin1", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      "{d}/r.jsonl:1", files={"r.jsonl": b'{"example_id": "' + LATIN1 + b'", "references": []}\n'}),
    C("reasoning-metrics/refs-empty", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl --metrics bleu",
      "{d}/r.jsonl", files={"r.jsonl": b""}),
    C("reasoning-metrics/refs-garbage", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      "{d}/r.jsonl:1", files={"r.jsonl": GARBAGE}),
    C("reasoning-metrics/refs-truncated-gzip", "reasoning-metrics --references {d}/r.jsonl.gz --candidates {d}/cands.jsonl",
      "{d}/r.jsonl.gz", files={"r.jsonl.gz": truncated_gz(b"x" * 1000)}),
    C("reasoning-metrics/refs-rating-word", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "field 'rating'", "five"),
      files={"r.jsonl": jl({"example_id": "ex0", "rating": "five", "references": ["a"]})}),
    C("reasoning-metrics/refs-rating-off-scale", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "true_rating", "1..5"),
      files={"r.jsonl": jl({"example_id": "ex0", "true_rating": 0, "references": ["a"]})}),
    C("reasoning-metrics/refs-rating-null", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "true_rating"),
      files={"r.jsonl": jl({"example_id": "ex0", "true_rating": None, "references": ["a"]})}),
    C("reasoning-metrics/refs-not-list", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "references"), files={"r.jsonl": jl({"example_id": "ex0", "references": "a"})}),
    C("reasoning-metrics/refs-dict-refs", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "references"), files={"r.jsonl": jl({"example_id": "ex0", "references": {"a": 1}})}),
    C("reasoning-metrics/refs-no-id", "reasoning-metrics --references {d}/r.jsonl --candidates {d}/cands.jsonl",
      ("{d}/r.jsonl:1", "example_id"), files={"r.jsonl": jl({"references": ["a"]})}),
    C("reasoning-metrics/cands-missing", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/nope.jsonl",
      "{d}/nope.jsonl"),
    C("reasoning-metrics/cands-directory", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/emptydir",
      "{d}/emptydir: is a directory"),
    C("reasoning-metrics/cands-empty", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/c.jsonl",
      "no candidates", files={"c.jsonl": b"\n"}),
    C("reasoning-metrics/cands-no-text", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/c.jsonl",
      ("{d}/c.jsonl:1", "text"), files={"c.jsonl": jl({"example_id": "ex0", "text": 4})}),
    C("reasoning-metrics/cands-rating-word", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/c.jsonl",
      ("{d}/c.jsonl:1", "predicted_rating"),
      files={"c.jsonl": jl({"example_id": "ex0", "text": "x", "predicted_rating": "four"})}),
    C("reasoning-metrics/cands-rating-float", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/c.jsonl",
      ("{d}/c.jsonl:1", "predicted_rating"),
      files={"c.jsonl": jl({"example_id": "ex0", "text": "x", "predicted_rating": 3.7})}),
    C("reasoning-metrics/cands-sample-index-negative", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/c.jsonl",
      ("{d}/c.jsonl:1", "sample_index"),
      files={"c.jsonl": jl({"example_id": "ex0", "text": "x", "sample_index": -1})}),
    C("reasoning-metrics/store-missing", "reasoning-metrics --references {d}/refs.jsonl --store {d}/nope.jsonl",
      "{d}/nope.jsonl"),
    C("reasoning-metrics/store-directory", "reasoning-metrics --references {d}/refs.jsonl --store {d}/emptydir",
      "{d}/emptydir: is a directory"),
    C("reasoning-metrics/store-latin1", "reasoning-metrics --references {d}/refs.jsonl --store {d}/s.jsonl",
      "{d}/s.jsonl", files={"s.jsonl": store_line() + LATIN1 + b"\n" + store_line("ex1")}),
    C("reasoning-metrics/metrics-unknown", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/cands.jsonl --metrics bleu,blue",
      "blue"),
    C("reasoning-metrics/batch-size-zero", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/cands.jsonl --batch-size 0",
      "argument --batch-size"),
    C("reasoning-metrics/out-is-file", "reasoning-metrics --references {d}/refs.jsonl --candidates {d}/cands.jsonl --metrics bleu --out {d}/refs.jsonl",
      "{d}/refs.jsonl"),

    # ---------------------------------------------------------------- alignment
    C("alignment/missing", "alignment {d}/nope.csv", "{d}/nope.csv"),
    C("alignment/directory", "alignment {d}/emptydir", "{d}/emptydir: is a directory"),
    C("alignment/latin1", "alignment {d}/a.csv", "{d}/a.csv: not UTF-8",
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\nJos\xe9,e1,4,1,3\n"}),
    C("alignment/empty", "alignment {d}/a.csv", "{d}/a.csv", files={"a.csv": b""}),
    C("alignment/garbage", "alignment {d}/a.csv", "{d}/a.csv", files={"a.csv": GARBAGE}),
    C("alignment/xlsx", "alignment {d}/a.xlsx", "{d}/a.xlsx", files={"a.xlsx": b"PK\x03\x04" + GARBAGE}),
    C("alignment/coherence-off-scale", "alignment {d}/a.csv", ("{d}/a.csv:2", "coherence"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\na,e1,7,1,3\n"}),
    C("alignment/faithfulness-two", "alignment {d}/a.csv", ("{d}/a.csv:2", "faithfulness"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\na,e1,4,2,3\n"}),
    C("alignment/coherence-word", "alignment {d}/a.csv", ("{d}/a.csv:2", "coherence"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\na,e1,five,1,3\n"}),
    C("alignment/coherence-nan", "alignment {d}/a.csv", ("{d}/a.csv:2", "coherence"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\na,e1,nan,1,3\n"}),
    C("alignment/missing-column", "alignment {d}/a.csv", ("{d}/a.csv", "insightfulness"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness\na,e1,4,1\n"}),
    C("alignment/duplicate", "alignment {d}/a.csv", ("{d}/a.csv:3", "twice"),
      files={"a.csv": b"annotator,example_id,coherence,faithfulness,insightfulness\na,e1,4,1,3\na,e1,4,1,3\n"}),
    C("alignment/jsonl-array", "alignment {d}/a.jsonl", "{d}/a.jsonl:1", files={"a.jsonl": b"[1,2,3]\n"}),
    C("alignment/jsonl-coherence-null", "alignment {d}/a.jsonl", ("{d}/a.jsonl:1", "coherence"),
      files={"a.jsonl": jl({"annotator": "a", "example_id": "e", "coherence": None, "faithfulness": 1,
                            "insightfulness": 3})}),
    C("alignment/jsonl-annotator-dict", "alignment {d}/a.jsonl", ("{d}/a.jsonl:1", "annotator"),
      files={"a.jsonl": jl({"annotator": {"n": 1}, "example_id": "e", "coherence": 4, "faithfulness": 1,
                            "insightfulness": 3})}),
    C("alignment/metrics-word", "alignment {d}/ann.csv --metrics {d}/m.jsonl", ("{d}/m.jsonl:1", "bleu"),
      files={"m.jsonl": jl({"example_id": "ex0", "bleu": "high"})}),
    C("alignment/metrics-missing", "alignment {d}/ann.csv --metrics {d}/nope.jsonl", "{d}/nope.jsonl"),
    C("alignment/metrics-latin1", "alignment {d}/ann.csv --metrics {d}/m.csv", "{d}/m.csv: not UTF-8",
      files={"m.csv": b"example_id,bleu\n" + LATIN1 + b",0.5\n"}),
    C("alignment/unverified-alone", "alignment {d}/ann.csv --metrics-unverified {d}/metrics.jsonl",
      "--metrics-unverified needs --metrics"),
    C("alignment/out-is-file", "alignment {d}/ann.csv --out {d}/ann.csv", "{d}/ann.csv"),

    # ---------------------------------------------------------------- preferences
    C("preferences/limit-negative", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --limit -1 {T}", "argument --limit"),
    C("preferences/user-cap-zero", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --user-cap 0 {T}", "argument --user-cap"),
    C("preferences/item-cap-negative", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --item-cap -3 {T}", "argument --item-cap"),
    C("preferences/item-pool-zero", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --item-pool 0 {T}", "argument --item-pool"),
    C("preferences/temperature-negative", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --temperature -1 {T}", "argument --temperature"),
    C("preferences/max-tokens-zero", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --max-tokens 0 {T}", "argument --max-tokens"),
    C("preferences/review-chars-zero", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --review-chars 0 {T}", "argument --review-chars"),
    C("preferences/seed-negative", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --seed -1 {T}", "argument --seed"),
    C("preferences/criterion-unknown", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --criterion best {T}", "argument --criterion"),
    C("preferences/scale-reversed", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --scale 5..1 {T}", ("--scale", "5..1")),
    C("preferences/scale-word", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --scale ten {T}", ("--scale", "ten")),
    C("preferences/splits-unknown", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl --splits train,val {T}", "val"),
    C("preferences/prepared-missing", f"preferences {{d}}/nope --out {{d}}/x --store {{d}}/s.jsonl {T}", "{d}/nope"),
    C("preferences/manifest-no-sources", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl {T}",
      ("{d}/prep/manifest.json", "sources"), files={"prep/manifest.json": lambda d: json.dumps(manifest(d, sources=[]))}),
    C("preferences/manifest-sources-dict", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl {T}",
      ("{d}/prep/manifest.json", "sources"),
      files={"prep/manifest.json": lambda d: json.dumps(manifest(d, sources={"reviews": "r.json"}))}),
    C("preferences/source-missing", f"preferences {P} --out {{d}}/x --store {{d}}/s.jsonl {T}",
      "{d}/gone.json", files={"prep/manifest.json": lambda d: json.dumps(manifest(
          d, sources=[{"path": f"{d}/gone.json", "role": "reviews"}]))}),
    C("preferences/store-directory", f"preferences {P} --out {{d}}/x --store {{d}}/emptydir {T}", "{d}/emptydir: is a directory"),
    C("preferences/out-is-file", f"preferences {P} --out {{d}}/raw/reviews.json --store {{d}}/s.jsonl {T}",
      "{d}/raw/reviews.json"),

    # ---------------------------------------------------------------- profiles
    C("profiles/no-config", f"profiles {P} --out {{d}}/emptydir --store {{d}}/s.jsonl {T}",
      "{d}/emptydir/config.json: missing; run `recsaver preferences` first"),
    C("profiles/config-not-json", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      "{d}/exp/config.json", files={"exp/config.json": b"{oops"}),
    C("profiles/config-latin1", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      "{d}/exp/config.json", files={"exp/config.json": b'{"domain": "' + LATIN1 + b'"}'}),
    C("profiles/config-array", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/config.json", "object"), files={"exp/config.json": b"[]"}),
    C("profiles/config-no-selection", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/config.json", "selection"), files={"exp/config.json": b'{"domain": "beauty"}'}),
    C("profiles/config-selection-typo", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/config.json", "selection", "user_kap"),
      files={"exp/config.json": json.dumps({"domain": "beauty", "selection": {"user_kap": 1},
                                            "budget": {}, "extract": {"base_seed": 0},
                                            "scale": {"low": 1, "high": 5, "positive_above": 3}})}),
    C("profiles/temperature-negative", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl --temperature -2 {T}",
      "argument --temperature"),
    C("profiles/max-tokens-zero", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl --max-tokens 0 {T}",
      "argument --max-tokens"),
    C("profiles/selection-missing", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      "{d}/exp/selection.jsonl", files={"exp/selection.jsonl": DIR}),
    C("profiles/selection-bad-line", f"profiles {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/selection.jsonl:1",), files={"exp/selection.jsonl": jl({"example_id": "ex0"})}),

    # ---------------------------------------------------------------- exp3rt-rationales
    C("exp3rt-rationales/scale-word", f"exp3rt-rationales {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/config.json", "scale.low"), files={"exp/config.json": json.dumps({
          "domain": "beauty", "scale": {"low": "one", "high": 5}, "budget": {}, "extract": {"base_seed": 0},
          "selection": {}})}),
    C("exp3rt-rationales/profiles-missing-split", f"exp3rt-rationales {P} --out {{d}}/exp --store {{d}}/s.jsonl {T}",
      ("{d}/exp/profiles.jsonl:1", "split"), files={"exp/profiles.jsonl": jl({"example_id": "ex0"})}),
    C("exp3rt-rationales/verify-tokens-zero", f"exp3rt-rationales {P} --out {{d}}/exp --store {{d}}/s.jsonl --verify-max-tokens 0 {T}",
      "argument --verify-max-tokens"),
    C("exp3rt-rationales/split-unknown", f"exp3rt-rationales {P} --out {{d}}/exp --store {{d}}/s.jsonl --split val {T}",
      "val"),

    # ---------------------------------------------------------------- exp3rt-evaluate
    C("exp3rt-evaluate/limit-negative", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/emptydir --vocabulary {d}/spm.model --limit -1",
      "argument --limit"),
    C("exp3rt-evaluate/batch-size-zero", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/emptydir --vocabulary {d}/spm.model --batch-size 0",
      "argument --batch-size"),
    C("exp3rt-evaluate/input-length-zero", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/emptydir --vocabulary {d}/spm.model --input-length 0",
      "argument --input-length"),
    C("exp3rt-evaluate/step-negative", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/emptydir --vocabulary {d}/spm.model --step -1",
      "argument --step"),
    C("exp3rt-evaluate/no-config", "exp3rt-evaluate {d}/prep --out {d}/emptydir --model-dir {d}/emptydir --vocabulary {d}/v.model",
      "{d}/emptydir/config.json: missing", files={"v.model": b"x"}),
    C("exp3rt-evaluate/vocabulary-missing", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/emptydir --vocabulary {d}/spm.model",
      "{d}/spm.model"),
    C("exp3rt-evaluate/model-dir-missing", "exp3rt-evaluate {d}/prep --out {d}/exp --model-dir {d}/nomodel --vocabulary {d}/v.model",
      "{d}/nomodel", files={"v.model": b"x"}),

    # ---------------------------------------------------------------- mf-baseline
    C("mf-baseline/factors-zero", "mf-baseline {d}/prep --out {d}/mf_out.json --factors 0", "argument --factors"),
    C("mf-baseline/max-iter-negative", "mf-baseline {d}/prep --out {d}/mf_out.json --max-iter -1", "argument --max-iter"),
    C("mf-baseline/seed-word", "mf-baseline {d}/prep --out {d}/mf_out.json --seed x", "argument --seed"),
    C("mf-baseline/scale-word", "mf-baseline {d}/prep --out {d}/mf_out.json --scale 1..x", ("argument --scale", "'x'")),
    C("mf-baseline/out-directory", "mf-baseline {d}/prep --out {d}/emptydir", "{d}/emptydir: is a directory"),
    C("mf-baseline/out-is-input", "mf-baseline {d}/prep --out {d}/prep/test.jsonl", "the output is a file of the input {d}/prep"),
    C("mf-baseline/out-locked", "mf-baseline {d}/prep --out {d}/locked/mf.json", "{d}/locked", locked="locked"),
    C("mf-baseline/split-unknown", "mf-baseline {d}/prep --out {d}/mf_out.json --split val", "val"),
    C("mf-baseline/raw-rating-word", "mf-baseline {d}/prep --out {d}/mf_out.json", ("{d}/raw/reviews.json:1", "overall"),
      files={"raw/reviews.json": jl(review(overall="five"))}),

    # ---------------------------------------------------------------- exp3rt-report
    C("exp3rt-report/mf-missing", "exp3rt-report {d}/prep --out {d}/r.md --mf {d}/nope.json", "{d}/nope.json"),
    C("exp3rt-report/mf-not-json", "exp3rt-report {d}/prep --out {d}/r.md --mf {d}/m.json", "{d}/m.json",
      files={"m.json": b"{"}),
    C("exp3rt-report/mf-array", "exp3rt-report {d}/prep --out {d}/r.md --mf {d}/m.json", ("{d}/m.json", "object"),
      files={"m.json": b"[]"}),
    C("exp3rt-report/mf-no-true-rating", "exp3rt-report {d}/prep --out {d}/r.md --mf {d}/m.json",
      ("{d}/m.json", "true_rating"), files={"m.json": json.dumps({"model": "mf", "predictions": [
          {"example_id": "ex0", "predicted_rating": 3}]})}),
    C("exp3rt-report/mf-prediction-word", "exp3rt-report {d}/prep --out {d}/r.md --mf {d}/m.json",
      ("{d}/m.json", "predicted_rating"), files={"m.json": json.dumps({"model": "mf", "predictions": [
          {"example_id": "ex0", "true_rating": 3, "predicted_rating": "three"}]})}),
    C("exp3rt-report/reasoning-missing", "exp3rt-report {d}/prep --out {d}/r.md --reasoning {d}/nope.jsonl",
      "{d}/nope.jsonl"),
    C("exp3rt-report/reasoning-not-json", "exp3rt-report {d}/prep --out {d}/r.md --reasoning {d}/p.jsonl",
      "{d}/p.jsonl:2", files={"p.jsonl": jl({"example_id": "ex0", "true_rating": 1, "probs": []}) + b"{\n"}),
    C("exp3rt-report/reasoning-no-probs", "exp3rt-report {d}/prep --out {d}/r.md --reasoning {d}/p.jsonl",
      ("{d}/p.jsonl:1", "probs"), files={"p.jsonl": jl({"example_id": "ex0", "true_rating": 1, "predicted_rating": 2})}),
    C("exp3rt-report/reasoning-latin1", "exp3rt-report {d}/prep --out {d}/r.md --reasoning {d}/p.jsonl",
      "{d}/p.jsonl", files={"p.jsonl": b'{"example_id": "' + LATIN1 + b'"}\n'}),
    C("exp3rt-report/exp3rt-dir-empty", "exp3rt-report {d}/prep --out {d}/r.md --exp3rt {d}/emptydir",
      "{d}/emptydir/metrics.json"),
    C("exp3rt-report/out-directory", "exp3rt-report {d}/prep --out {d}/emptydir --mf {d}/mf.json",
      "{d}/emptydir: is a directory"),
    C("exp3rt-report/out-is-input", "exp3rt-report {d}/prep --out {d}/mf.json --mf {d}/mf.json",
      "the output is the input"),

    # ---------------------------------------------------------------- tasks
    C("tasks/prepared-missing", "tasks {d}/nope --out {d}/t", "{d}/nope"),
    C("tasks/manifest-no-counts", "tasks {d}/prep --out {d}/t", ("{d}/prep/manifest.json", "counts"),
      files={"prep/manifest.json": b'{"config": {"domain": "beauty"}}'}),
    C("tasks/wording-no-equals", "tasks {d}/prep --out {d}/t --wording beauty", "--wording"),
    C("tasks/exp3rt-no-equals", "tasks {d}/prep --out {d}/t --exp3rt beauty", "--exp3rt"),
    C("tasks/vocab-size-zero", "tasks {d}/prep --out {d}/t --vocab-size 0", "argument --vocab-size"),
    C("tasks/ms-word", "tasks {d}/prep --out {d}/t --ms 1,three", "argument --ms"),
    C("tasks/ms-zero", "tasks {d}/prep --out {d}/t --ms 0", "argument --ms"),
    C("tasks/filters-unknown", "tasks {d}/prep --out {d}/t --filters all,bogus", "bogus"),
    C("tasks/vocabulary-missing", "tasks {d}/prep --out {d}/t --vocabulary {d}/nope.model", "{d}/nope.model"),
    C("tasks/store-directory", "tasks {d}/prep --out {d}/t --store {d}/emptydir", "{d}/emptydir: is a directory"),
    C("tasks/out-is-file", "tasks {d}/prep --out {d}/raw/reviews.json", "{d}/raw/reviews.json"),
    C("tasks/temperature-negative", "tasks {d}/prep --out {d}/t --temperature -1", "argument --temperature"),
    C("tasks/max-prompt-chars-zero", "tasks {d}/prep --out {d}/t --max-prompt-chars 0", "argument --max-prompt-chars"),

    # ---------------------------------------------------------------- train
    C("train/no-gin-file", "train", "no --gin_file"),
    C("train/gin-file-missing", "train --gin_file={d}/nope.gin", "nope.gin"),
    C("train/gin-binding-no-equals", "train --gin_file=tiny_cpu.gin --gin.BATCH_SIZE", "--gin.BATCH_SIZE"),
    C("train/batch-size-zero", "train --gin_file=tiny_cpu.gin --gin.MODEL_DIR={d}/m --gin.BATCH_SIZE=0",
      "BATCH_SIZE = 0"),
    C("train/gin-latin1", "train --gin_file={d}/x.gin", "{d}/x.gin", files={"x.gin": b"# " + LATIN1 + b"\nA = 1\n"}),
    C("train/gin-garbage", "train --gin_file={d}/x.gin", "x.gin, line 1", files={"x.gin": b"BATCH_SIZE = = 3\n"}),
    C("train/distributed-unknown", "train --gin_file=tiny_cpu.gin --distributed maybe", "argument --distributed"),
    C("train/tasks-config-array", "train --gin_file=tiny_cpu.gin --gin.MODEL_DIR={d}/m --gin.TASKS_CONFIG={d}/tc.json "
      "--gin.MIXTURE_OR_TASK_NAME=x", ("{d}/tc.json", "object"), files={"tc.json": b"[]"}),

    # ---------------------------------------------------------------- evaluate
    C("evaluate/compare-missing", "evaluate --compare {d}/nope.json", "{d}/nope.json"),
    C("evaluate/compare-not-json", "evaluate --compare {d}/m.json", "{d}/m.json", files={"m.json": b"{"}),
    C("evaluate/compare-no-metrics", "evaluate --compare {d}/m.json", ("{d}/m.json", "metrics"),
      files={"m.json": b'{"task": "t", "step": 1}'}),
    C("evaluate/compare-array", "evaluate --compare {d}/m.json", ("{d}/m.json", "object"), files={"m.json": b"[]"}),
    C("evaluate/compare-latin1", "evaluate --compare {d}/m.json", "{d}/m.json", files={"m.json": LATIN1}),
    C("evaluate/compare-labels-count", "evaluate --compare {d}/evalm.json {d}/evalm.json --labels a", "--labels"),
    C("evaluate/batch-size-zero", "evaluate --model_dir {d}/emptydir --task t --batch_size 0", "argument --batch-size/--batch_size: must be >= 1"),
    C("evaluate/step-negative", "evaluate --model_dir {d}/emptydir --task t --step -1", "argument --step"),
    C("evaluate/unparsed-unknown", "evaluate --model_dir {d}/emptydir --task t --unparsed guess", "--unparsed"),
    C("evaluate/decode-unknown", "evaluate --model_dir {d}/emptydir --task t --decode sample", "--decode"),
    C("evaluate/decode-beam-zero", "evaluate --model_dir {d}/emptydir --task t --decode beam:0", "--decode"),
    C("evaluate/no-task", "evaluate --model_dir {d}/emptydir", "--model_dir and --task are required"),
    C("evaluate/tasks-config-missing", "evaluate --model_dir {d}/emptydir --task t --tasks_config {d}/nope.json",
      "{d}/nope.json"),
    C("evaluate/tasks-config-array", "evaluate --model_dir {d}/emptydir --task t --tasks_config {d}/tc.json",
      ("{d}/tc.json", "object"), files={"tc.json": b"[]"}),
    C("evaluate/tasks-config-latin1", "evaluate --model_dir {d}/emptydir --task t --tasks_config {d}/tc.json",
      "{d}/tc.json", files={"tc.json": b'{"vocabulary": "' + LATIN1 + b'"}'}),
    C("evaluate/tasks-config-budget-typo", "evaluate --model_dir {d}/emptydir --task t --tasks_config {d}/tc.json",
      ("{d}/tc.json", "budget", "max_chars"), files={"tc.json": json.dumps({
          "domains": [{"name": "beauty", "prepared_dir": "prep"}], "budget": {"max_chars": 3}})}),

    # ---------------------------------------------------------------- rerank
    C("rerank/n-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr -N 0", "-N"),
    C("rerank/factors-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --factors 0", "argument --factors"),
    C("rerank/iterations-negative", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --iterations -1", "argument --iterations"),
    C("rerank/learning-rate-negative", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --learning-rate -1", "argument --learning-rate"),
    C("rerank/threads-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --threads 0", "argument --threads"),
    C("rerank/min-train-negative", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --min-train -1", "argument --min-train"),
    C("rerank/time-quantile-two", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --time-quantile 2", "argument --time-quantile"),
    C("rerank/max-users-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --max-users 0", "--max-users"),
    C("rerank/ks-word", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --ks 1,five", "--ks"),
    C("rerank/ks-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --ks 0,5", "--ks"),
    C("rerank/reranker-unknown", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --reranker oracle",
      "argument --reranker: unknown kind 'oracle'"),
    C("rerank/reranker-student-no-vocab", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --reranker student:{d}/emptydir",
      "--vocabulary"),
    C("rerank/reranker-exp3rt-no-dir", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --reranker exp3rt:{d}/emptydir "
      "--vocabulary {d}/v.model", "--exp3rt-dir", files={"v.model": b"x"}),
    C("rerank/retriever-unknown", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --retriever svd", "argument --retriever"),
    C("rerank/reviews-missing", "rerank --reviews {d}/nope.json --domain b --out {d}/rr", "{d}/nope.json"),
    C("rerank/reviews-directory", "rerank --reviews {d}/emptydir --domain b --out {d}/rr", "{d}/emptydir: is a directory"),
    C("rerank/reviews-latin1", "rerank --reviews {d}/r.json --domain b --out {d}/rr", "{d}/r.json",
      files={"r.json": b'{"reviewText": "' + LATIN1 + b'"}\n'}),
    C("rerank/reviews-rating-word", "rerank --reviews {d}/r.json --domain b --out {d}/rr", ("{d}/r.json:1", "overall"),
      files={"r.json": jl(review(overall="five"))}),
    C("rerank/both-sources", "rerank --prepared {d}/prep --reviews {d}/raw/reviews.json --out {d}/rr", "not both"),
    C("rerank/no-domain", "rerank --reviews {d}/raw/reviews.json --out {d}/rr", "--domain"),
    C("rerank/batch-size-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --batch-size 0", "argument --batch-size"),
    C("rerank/max-history-zero", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/rr --max-history 0", "argument --max-history"),
    C("rerank/out-is-file", "rerank --reviews {d}/raw/reviews.json --domain b --out {d}/raw/reviews.json",
      "{d}/raw/reviews.json"),
    C("rerank/prepared-manifest-array", "rerank --prepared {d}/prep --out {d}/rr", ("{d}/prep/manifest.json", "object"),
      files={"prep/manifest.json": b"[]"}),

    # ---------------------------------------------------------------- export
    C("export/model-dir-missing", "export --hf --model-dir {d}/nomodel --out {d}/hf", "{d}/nomodel"),
    C("export/vocabulary-missing", "export --hf --model-dir {d}/emptydir --vocabulary {d}/nope.model --out {d}/hf",
      "{d}/nope.model"),
    C("export/vocabulary-json-array", "export --hf --model-dir {d}/emptydir --vocabulary {d}/tc.json --out {d}/hf",
      ("{d}/tc.json", "vocabulary"), files={"tc.json": b"[]"}),
    C("export/vocabulary-json-latin1", "export --hf --model-dir {d}/emptydir --vocabulary {d}/tc.json --out {d}/hf",
      ("{d}/tc.json",), files={"tc.json": LATIN1}),
    C("export/step-negative", "export --hf --model-dir {d}/emptydir --out {d}/hf --step -1", "argument --step"),
    C("export/extra-ids-negative", "export --hf --model-dir {d}/emptydir --out {d}/hf --extra-ids -1", "argument --extra-ids"),
    C("export/dtype-unknown", "export --hf --model-dir {d}/emptydir --out {d}/hf --dtype float8", "argument --dtype"),
    C("export/out-is-file", "export --hf --model-dir {d}/emptydir --out {d}/raw/reviews.json", "{d}/raw/reviews.json"),

    # ---------------------------------------------------------------- report
    C("report/missing", "report {d}/nope", "{d}/nope"),
    C("report/not-run-dir", "report {d}/emptydir", "{d}/emptydir: not a run directory"),
    C("report/is-file", "report {d}/raw/reviews.json", "{d}/raw/reviews.json"),
    C("report/out-is-file", "report {d}/rundir --out {d}/raw/reviews.json", "{d}/raw/reviews.json"),
    C("report/manifest-garbage", "report {d}/rundir", "{d}/rundir/prepared/beauty/manifest.json",
      files={"rundir/prepared/beauty/manifest.json": GARBAGE}),
    C("report/manifest-not-json", "report {d}/rundir", "{d}/rundir/prepared/beauty/manifest.json:1",
      files={"rundir/prepared/beauty/manifest.json": b"{"}),
    C("report/manifest-no-counts", "report {d}/rundir", ("{d}/rundir/prepared/beauty/manifest.json", "counts"),
      files={"rundir/prepared/beauty/manifest.json": b'{"config": {"domain": "b"}}'}),

    # ---------------------------------------------------------------- serve
    C("serve/port-negative", "serve {d}/emptydir --port -1", "argument --port"),
    C("serve/port-huge", "serve {d}/emptydir --port 70000", "argument --port"),
    C("serve/max-batch-zero", "serve {d}/emptydir --max-batch 0", "--max-batch"),
    C("serve/max-queue-zero", "serve {d}/emptydir --max-queue 0", "--max-queue"),
    C("serve/buckets-word", "serve {d}/emptydir --batch-buckets 1,two", "argument --batch-buckets"),
    C("serve/buckets-zero", "serve {d}/emptydir --input-buckets 0,64", "--input-buckets"),
    C("serve/rating-scale-word", "serve {d}/emptydir --rating-scale five", "--rating-scale"),
    C("serve/rating-scale-reversed", "serve {d}/emptydir --rating-scale 5..1", "--rating-scale"),
    C("serve/batch-wait-negative", "serve {d}/emptydir --batch-wait-ms -1", "argument --batch-wait-ms"),
    C("serve/graceful-timeout-negative", "serve {d}/emptydir --graceful-timeout -5", "argument --graceful-timeout"),
    C("serve/step-negative", "serve {d}/emptydir --step -1", "argument --step"),
    C("serve/log-level-unknown", "serve {d}/emptydir --log-level loud", "argument --log-level"),
    C("serve/model-missing", "serve {d}/nomodel", "{d}/nomodel"),
    C("serve/model-is-file", "serve {d}/raw/reviews.json", "{d}/raw/reviews.json"),
    C("serve/vocabulary-missing", "serve {d}/emptydir --vocabulary {d}/nope.model", "{d}/nope.model"),

    # ---------------------------------------------------------------- annotate
    C("annotate/annotators-zero", "annotate {d}/eval/stud/predictions_t.jsonl --annotators 0 --no-serve", "--annotators"),
    C("annotate/items-negative", "annotate {d}/eval/stud/predictions_t.jsonl --items -1 --no-serve", "--items"),
    C("annotate/port-negative", "annotate {d}/eval/stud/predictions_t.jsonl --port -1 --no-serve", "argument --port"),
    C("annotate/seed-word", "annotate {d}/eval/stud/predictions_t.jsonl --seed x --no-serve", "argument --seed"),
    C("annotate/rater-names-duplicate", "annotate {d}/eval/stud/predictions_t.jsonl --annotators 2 --rater-names a,a --no-serve",
      "--rater-names"),
    C("annotate/input-missing", "annotate {d}/nope.jsonl --no-serve", "{d}/nope.jsonl"),
    C("annotate/run-dir-without-eval", "annotate {d}/emptydir --no-serve", "{d}/emptydir"),
    C("annotate/predictions-latin1", "annotate {d}/p.jsonl --examples {d}/prep/test.jsonl --out {d}/st --no-serve",
      "{d}/p.jsonl", files={"p.jsonl": b'{"example_id": "' + LATIN1 + b'"}\n'}),
    C("annotate/predictions-no-text", "annotate {d}/p.jsonl --examples {d}/prep/test.jsonl --out {d}/st --no-serve",
      ("{d}/p.jsonl:1", "text"), files={"p.jsonl": jl({"example_id": "ex0"})}),
    C("annotate/predictions-rating-word", "annotate {d}/p.jsonl --examples {d}/prep/test.jsonl --out {d}/st --no-serve",
      ("{d}/p.jsonl:1", "predicted_rating"), files={"p.jsonl": jl({"example_id": "ex0", "text":
                                                                  "### Reason ###\nok\n### Rating ###\n4",
                                                                  "predicted_rating": "four"})}),
    C("annotate/predictions-true-rating-word", "annotate {d}/p.jsonl --examples {d}/prep/test.jsonl --out {d}/st --no-serve",
      ("{d}/p.jsonl:1", "true_rating"), files={"p.jsonl": jl({"example_id": "ex0", "text":
                                                             "### Reason ###\nok\n### Rating ###\n4",
                                                             "true_rating": "x"})}),
    C("annotate/examples-missing", "annotate {d}/eval/stud/predictions_t.jsonl --examples {d}/nope.jsonl --out {d}/st --no-serve",
      "{d}/nope.jsonl"),
    C("annotate/examples-rating-word", "annotate {d}/eval/stud/predictions_t.jsonl --examples {d}/e.jsonl --out {d}/st --no-serve",
      ("{d}/e.jsonl:1", "true_rating"), files={"e.jsonl": jl({**example(0), "true_rating": "five"})}),
    C("annotate/study-corrupt", "annotate {d}/eval/stud/predictions_t.jsonl --out {d}/st --no-serve",
      "{d}/st/study.json", files={"st/study.json": b"{"}),
    C("annotate/study-array", "annotate {d}/eval/stud/predictions_t.jsonl --out {d}/st --no-serve",
      ("{d}/st/study.json", "object"), files={"st/study.json": b"[]"}),
    C("annotate/out-is-file", "annotate {d}/eval/stud/predictions_t.jsonl --examples {d}/prep/test.jsonl --items 2 "
      "--out {d}/raw/reviews.json --no-serve", "{d}/raw/reviews.json"),

    # ---------------------------------------------------------------- run
    C("run/missing", "run {d}/nope.toml --check", "{d}/nope.toml: no such run file"),
    C("run/directory", "run {d}/emptydir --check", "{d}/emptydir: is a directory"),
    C("run/latin1", "run {d}/r.toml --check", "{d}/r.toml: not UTF-8", files={"r.toml": b'run_dir = "caf\xe9"\n'}),
    C("run/bom", "run {d}/r.toml --check", "SKIP:run file OK",
      files={"r.toml": lambda d: BOM + open(os.path.join(d, "run.toml"), "rb").read()}),
    C("run/empty", "run {d}/r.toml --check", "{d}/r.toml: no [[domains]]", files={"r.toml": b""}),
    C("run/garbage", "run {d}/r.toml --check", "{d}/r.toml", files={"r.toml": GARBAGE}),
    C("run/not-toml", "run {d}/r.toml --check", "{d}/r.toml: not valid TOML", files={"r.toml": b"[[domains]\n"}),
    C("run/unknown-key", "run {d}/r.toml --check", ("{d}/r.toml", "rundir"),
      files={"r.toml": b'rundir = "x"\n'}),
    C("run/domains-table", "run {d}/r.toml --check", ("{d}/r.toml", "domains"),
      files={"r.toml": b'[domains]\nname = "x"\n'}),
    C("run/domain-reviews-string", "run {d}/r.toml --check", ("{d}/r.toml", "reviews"),
      files={"r.toml": b'[[domains]]\nname = "x"\nreviews = "r.json"\n'}),
    C("run/domain-no-reviews", "run {d}/r.toml --check", ("{d}/r.toml", "reviews"),
      files={"r.toml": b'[[domains]]\nname = "x"\n'}),
    C("run/domain-reviews-missing", "run {d}/r.toml --check", "{d}/gone.json",
      files={"r.toml": lambda d: f'[[domains]]\nname = "x"\nreviews = ["{d}/gone.json"]\n'}),
    C("run/prepare-negative", "run {d}/r.toml --check", ("{d}/r.toml", "[prepare]", "train_per_label"),
      files={"r.toml": lambda d: open(os.path.join(d, "run.toml")).read() + "[prepare]\ntrain_per_label = -1\n"}),
    C("run/prepare-word", "run {d}/r.toml --check", ("{d}/r.toml", "[prepare]", "train_per_label"),
      files={"r.toml": lambda d: open(os.path.join(d, "run.toml")).read() + '[prepare]\ntrain_per_label = "five"\n'}),
    C("run/student-gin-batch-zero", "run {d}/r.toml --check", ("{d}/r.toml", "BATCH_SIZE"),
      files={"r.toml": lambda d: open(os.path.join(d, "run.toml")).read()
             + '[[students]]\nname = "s"\ntask = "t"\neval_task = "e"\ngin = {BATCH_SIZE = 0}\n'}),
    C("run/train-gin-batch-zero", "run {d}/r.toml --check", ("{d}/r.toml", "BATCH_SIZE"),
      files={"r.toml": lambda d: open(os.path.join(d, "run.toml")).read() + "[train]\nBATCH_SIZE = 0\n"}),
    C("run/from-unknown", "run {d}/run.toml --from nonsense", "nonsense"),
    C("run/only-unknown", "run {d}/run.toml --only nonsense", "nonsense"),
    C("run/run-dir-is-file", "run {d}/run.toml --run-dir {d}/raw/reviews.json", "{d}/raw/reviews.json"),

    # ---------------------------------------------------------------- teacher-serve
    C("teacher-serve/servers-zero", "teacher-serve --servers 0", "argument --servers: must be >= 1"),
    C("teacher-serve/port-zero", "teacher-serve --port 0", "argument --port"),
    C("teacher-serve/port-huge", "teacher-serve --port 99999", "argument --port"),
    C("teacher-serve/ctx-zero", "teacher-serve --ctx 0", "argument --ctx"),
    C("teacher-serve/gguf-missing", "teacher-serve --gguf {d}/nope.gguf", "{d}/nope.gguf"),
    C("teacher-serve/gguf-directory", "teacher-serve --gguf {d}/emptydir", "{d}/emptydir: is a directory"),
    C("teacher-serve/gguf-garbage", "teacher-serve --gguf {d}/g.gguf", "{d}/g.gguf: not a GGUF model file",
      files={"g.gguf": GARBAGE}),
    C("teacher-serve/port-in-use", "teacher-serve --port {port}", ("port {port}", "address already in use"),
      slow=True),  # starts the packaged model's server, which cannot bind
    C("teacher-serve/log-dir-missing", "teacher-serve --log-dir {d}/no/logs", "{d}/no/logs"),
    C("teacher-serve/log-dir-is-file", "teacher-serve --log-dir {d}/raw/reviews.json", "{d}/raw/reviews.json"),
]
