"""The answer parser: what real models write parses, everything else is explicitly unparsed."""
import json
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recsaver_t5x.answer import ParsedAnswer, parse_answer, rating_probs
from recsaver_t5x.prompting.templates import reasoning_answer

# How models decorate the rating after the header.
DECOR = ["{r}", "{r}/5", "{r} / 5", "{r} out of 5", "{r} (out of 5)", "Rating: {r}", "**{r}**",
         "{r}.0", "{r} stars", "{r}.", "**Rating:** {r}", "{r}\n\nThe user will like it.",
         "{r} - the user likes the brand", "`{r}`", "**{r}/5**"]
HEADERS = ["### Rating ###", "###Rating###", "### Rating", "## Rating:", "**### Rating ###**",
           "### rating ###", "### Rating:"]
# Reasoning text that never contains a rating header of its own.
REASONS = st.text(st.characters(blacklist_characters="#", blacklist_categories=("Cs",)), max_size=300)


@pytest.mark.parametrize("text,rating", [
    ("### Reason ###\nlikes it\n### Rating ###\n4", 4),
    ("### Rating ###\n4/5", 4),
    ("Rating: 4", 4),
    ("**Rating:** 5\nbecause she bought 3 similar items", 5),
    ("### Rating ###\n**4**", 4),
    ("### Rating ###\n4.0 stars. The user will like it.", 4),
    ("### Rating ###\n\nFour", 4),
    ("The user has 3 items.\n### Rating ###\n\n5", 5),
    ("5", 5),
    ("**2**", 2),
    ("4/5", 4),
    ('{"reason": "likes shampoo", "rating": 3}', 3),
    ('```json\n{"reason": "x", "rating": "2"}\n```', 2),
    # llama.cpp's JSON grammar lets raw newlines into strings (strict JSON forbids them)
    ('{ "reason": "it is: 3.5}\n\nThis is an" ,"rating" : 4}', 4),
])
def test_real_world_answers(text, rating):
  assert parse_answer(text).rating == rating


@pytest.mark.parametrize("text,why", [
    ("", "empty"),
    ("   \n", "empty"),
    ("I think the user will like it, maybe 4", "no '### Rating ###'"),
    ("### Rating ###\n8/10", "not on the 1..5 scale"),
    ("### Rating ###\n4.5", "non-integer rating 4.5"),
    ("### Rating ###\n0", "outside 1..5"),
    ("### Rating ###\n7", "outside 1..5"),
    ("### Rating ###\n3 or 4", "several numbers"),
    ("### Rating ###\nhigh", "no number"),
    ("### Reason ###\nWrite your reasoning explanation here.\n### Rating ###\n"
     "Give a single numerical rating, e.g. 1", "repeats the format instructions"),
    ('{"reason": "x", "rating": 9}', "outside 1..5"),
    ('{"reason": "x", "rating": null}', "not a number"),
])
def test_unparsed_with_reason(text, why):
  p = parse_answer(text)
  assert p.rating is None and not p.parsed
  assert why in p.unparsed_reason


def test_explanation_is_the_reason_section():
  p = parse_answer("### Reason ###\nShe loves Acme.\nTwo lines.\n### Rating ###\n5")
  assert p == ParsedAnswer(5, None, "She loves Acme.\nTwo lines.", p.rating_offset)
  assert p.rating_offset == len("### Reason ###\nShe loves Acme.\nTwo lines.\n### Rating ###\n")
  assert parse_answer("She loves Acme.\n### Rating ###\n5").explanation == "She loves Acme."


def test_last_rating_header_wins():
  # Models sometimes echo the format, then answer: the answer is the last section.
  text = ("### Reason ###\nWrite your reasoning explanation here.\n### Rating ###\nGive a single "
          "numerical rating, e.g. 1\n\n### Reason ###\nShe likes it.\n### Rating ###\n4")
  assert parse_answer(text).rating == 4


@settings(max_examples=300, deadline=None)
@given(r=st.integers(1, 5), reason=REASONS, decor=st.sampled_from(DECOR), header=st.sampled_from(HEADERS),
       trailing=st.sampled_from(["", "\n", "  \n\n", "\n\nHope this helps!"]))
def test_decorated_ratings_parse(r, reason, decor, header, trailing):
  text = f"### Reason ###\n{reason}\n{header}\n{decor.format(r=r)}{trailing}"
  p = parse_answer(text)
  assert p.rating == r, (text, p)
  assert text[p.rating_offset] == str(r)


@settings(max_examples=200, deadline=None)
@given(r=st.integers(1, 5), reason=REASONS)
def test_round_trip_of_the_answer_format(r, reason):
  p = parse_answer(reasoning_answer(reason, r))
  assert p.rating == r
  assert (p.explanation or "") == reason.strip().strip("*").strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
@example("### Rating ###")
@example("### Rating ###\n")
@example("{")
@example('{"rating": [1]}')
@example("### Rating ### 1e400")
def test_never_raises_and_result_is_consistent(text):
  p = parse_answer(text)
  assert isinstance(p, ParsedAnswer)
  if p.rating is None:
    assert p.unparsed_reason
  else:
    assert p.rating in (1, 2, 3, 4, 5) and p.unparsed_reason is None


@settings(max_examples=200, deadline=None)
@given(n=st.one_of(st.integers(-1000, 1000).filter(lambda v: not 1 <= v <= 5),
                   st.floats(0, 10, allow_nan=False).filter(lambda v: v != math.floor(v))),
       reason=REASONS)
def test_out_of_range_or_fractional_is_unparsed(n, reason):
  p = parse_answer(f"### Reason ###\n{reason}\n### Rating ###\n{n}")
  assert p.rating is None and p.unparsed_reason


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_characters="#0123456789", blacklist_categories=("Cs",)),
                    max_size=300).filter(lambda t: "rating" not in t.lower() and not t.strip().startswith("{")
                                         and not any(w in t.lower() for w in ("one", "two", "three", "four", "five"))))
def test_text_without_header_or_number_is_unparsed(text):
  assert parse_answer(text).rating is None


def test_rating_probs_from_token_logprobs():
  text = "### Rating ###\n 4"
  p = parse_answer(text)
  content = [{"token": "###", "logprob": -0.1, "top_logprobs": []},
             {"token": " Rating ###\n", "logprob": -0.1, "top_logprobs": []},
             {"token": " 4", "logprob": math.log(0.5),
              "top_logprobs": [{"token": " 4", "logprob": math.log(0.5)},
                               {"token": " 5", "logprob": math.log(0.2)},
                               {"token": "4", "logprob": math.log(0.1)},
                               {"token": " the", "logprob": math.log(0.1)}]}]
  probs = rating_probs(content, p)
  assert probs == pytest.approx((0, 0, 0, 0.6 / 0.8, 0.2 / 0.8))
  assert rating_probs(None, p) is None
  assert rating_probs(content, parse_answer("nothing")) is None


def test_json_answer_offset_for_logprobs():
  text = json.dumps({"reason": "ok", "rating": 5})
  p = parse_answer(text)
  assert p.rating == 5 and text[p.rating_offset] == "5"


@pytest.mark.parametrize("text", [
    "### Rating ###\n-1", "### Rating ###\n\u22123", "Rating: -2", "-1", "**-4**",
    '{"reason": "x", "rating": -1}', '{"reason": "x", "rating": "-3"}', "### Rating ###\n-1/5"])
def test_negative_ratings_are_unparsed_with_a_reason(text):
  parsed = parse_answer(text)
  assert parsed.rating is None
  assert "outside 1..5" in parsed.unparsed_reason or "scale" in parsed.unparsed_reason


@pytest.mark.parametrize("text,rating", [
    ("Rating - 4", 4), ("### Rating ###\n- 4", 4), ("### Rating ###\n+4", 4),
    ("### Rating ###\n4 - the user likes it", 4)])
def test_a_dash_is_not_a_minus_sign(text, rating):
  assert parse_answer(text).rating == rating


def test_negative_ratings_on_a_ten_point_scale():
  from recsaver_t5x.scale import RatingScale
  ten = RatingScale(1, 10, 5)
  assert parse_answer("### Rating ###\n-7", ten).unparsed_reason == "rating -7 outside 1..10"
  assert parse_answer("### Rating ###\n7", ten).rating == 7
