"""The study's prompt field for field, the variants and deterministic, recorded truncation."""
import dataclasses

import pytest

from recsaver_t5x.data.records import Example, HistoryEntry, Item
from recsaver_t5x.errors import UserFacingError
from recsaver_t5x.prompting import templates
from recsaver_t5x.answer import parse_answer
from recsaver_t5x.prompting.templates import DomainWording, wording_for
from recsaver_t5x.prompting.variants import (VARIANTS, Budget, Demonstration, build_prompt, clip_text,
                                             parse_variants)


def example(i=0, domain="all_beauty", review="Smells great, my hair is soft.", desc="A gentle shampoo.",
            n_hist=2, rating=4):
  hist = tuple(HistoryEntry(Item(f"A{j}", title=f"Shampoo {j}", brand="Acme",
                                 categories=("Beauty", "Hair Care"), description=desc, price="$9.99"),
                            rating=j + 3, review=review, summary="s", timestamp=j)
               for j in range(n_hist))
  target = Item("T", title="Conditioner", brand=None, categories=("Beauty",), description=desc,
                price=None)
  return Example(f"ex{i}", domain, f"u{i}", hist, target, rating, 99, "test")


EXPECTED_BEAUTY = """\
Here is information about a user and a new product being recommended to the user. For the user, we have the user's past item information history and the user's corresponding ratings. User ratings range from 1 to 5, where 1 is the lowest and 5 is the highest. For the new item being recommended, we have the item information.

### Past User History: ###
Product Title: Shampoo 0
Brand: Acme
Categories: Beauty, Hair Care
Description: A gentle shampoo.
Item Price: $9.99
User Rating: 3
User Review: Smells great, my hair is soft.

Product Title: Shampoo 1
Brand: Acme
Categories: Beauty, Hair Care
Description: A gentle shampoo.
Item Price: $9.99
User Rating: 4
User Review: Smells great, my hair is soft.

### New Item Information: ###
New Product
Product Title: Conditioner
Brand: N/A
Categories: Beauty
Description: A gentle shampoo.
Item Price: N/A
######

Given the user's past purchase history and the new item information, what information can you infer about the user's preferences and how they will rate the new product?
Your reasoning explanation should be based on any commonalities in the user history items and inferred user tastes or preferences.
After your reasoning, predict a numerical rating.

Please follow the format below:
### Reason ###
Write your reasoning explanation here. You can have line breaks.
### Rating ###
Give a single numerical rating, e.g. 1"""


def test_reasoning_prompt_field_for_field():
  p = build_prompt(example(), "reasoning")
  assert p.text == EXPECTED_BEAUTY
  assert p.messages == ({"role": "user", "content": EXPECTED_BEAUTY},)
  assert not p.truncation.truncated


@pytest.mark.parametrize("domain,item,label,verb", [
    ("all_beauty", "product", "Product", "purchase"),
    ("movies_and_tv", "video (movies and tv)", "Video (Movies and TV)", "watch"),
    ("digital_music", "music album", "Music Album", "listen"),
])
def test_domain_wording(domain, item, label, verb):
  text = build_prompt(example(domain=domain), "reasoning").text
  assert f"a new {item} being recommended" in text
  assert f"\nNew {label}\n{label} Title: Conditioner" in text
  assert f"{label} Title: Shampoo 0" in text
  assert f"past {verb} history" in text and f"rate the new {item}?" in text


def test_magazine_preset():
  w = wording_for("Magazine_Subscriptions")
  text = build_prompt(example(domain="magazine_subscriptions"), "reasoning", wording=w).text
  assert "Magazine Title: Shampoo 0" in text and "past subscription history" in text


def test_new_domain_supplies_its_own_wording():
  with pytest.raises(UserFacingError, match="DomainWording"):
    wording_for("books")
  w = DomainWording("book", "Book", "reading")
  text = build_prompt(example(domain="books"), "reasoning", wording=w).text
  assert "Book Title: Shampoo 0" in text and "past reading history" in text


def _history(text):
  return text.split(templates.HISTORY_HEADER)[1].split(templates.NEW_ITEM_HEADER)[0]


def test_variants_remove_exactly_their_fields():
  ex = example()
  full = build_prompt(ex, "reasoning").text
  no_review = build_prompt(ex, "no_review").text
  assert "User Review:" not in no_review and "User Rating: 3" in no_review
  assert no_review == full.replace("\nUser Review: Smells great, my hair is soft.", "")
  nrnr = build_prompt(ex, "no_review_no_rating").text
  assert "User Review:" not in nrnr and "User Rating:" not in nrnr
  assert "Item Price: $9.99" in _history(nrnr)
  no_desc = build_prompt(ex, "no_description").text
  assert "Description:" not in no_desc
  assert no_desc == full.replace("\nDescription: A gentle shampoo.", "")
  no_reason = build_prompt(ex, "no_reasoning").text
  assert "### Reason ###" not in no_reason and "### Rating ###" in no_reason
  assert no_reason.split("######")[0] == full.split("######")[0]  # same inputs


def test_one_shot_prepends_a_solved_demonstration():
  demo = Demonstration(example(7, rating=2), "The user dislikes conditioners.", 2)
  p = build_prompt(example(), "one_shot", demo=demo)
  assert [m["role"] for m in p.messages] == ["user", "assistant", "user"]
  assert p.messages[0]["content"] == build_prompt(example(7), "reasoning").text
  assert p.messages[1]["content"] == "### Reason ###\nThe user dislikes conditioners.\n### Rating ###\n2"
  assert parse_answer(p.messages[1]["content"]).rating == 2
  assert p.text == EXPECTED_BEAUTY and p.demo_example_id == "ex7"
  with pytest.raises(UserFacingError, match="demonstration"):
    build_prompt(example(), "one_shot")
  with pytest.raises(UserFacingError, match="is the example itself"):
    build_prompt(example(), "one_shot", demo=Demonstration(example(), "x", 4))


def test_variant_names():
  assert list(VARIANTS) == ["reasoning", "no_reasoning", "no_review", "no_review_no_rating",
                            "no_description", "one_shot"]
  assert [v.name for v in parse_variants("no_review, reasoning")] == ["no_review", "reasoning"]
  assert len(parse_variants("all")) == 6
  with pytest.raises(UserFacingError, match="unknown prompt variant 'cot'"):
    parse_variants("cot")


def test_clip_text():
  assert clip_text("short", 10) == "short"
  s = "word " * 100
  c = clip_text(s, 53)
  assert len(c) <= 53 and c.endswith(" [...]") and c.startswith("word word")
  assert clip_text("x" * 100, 20) == "x" * 14 + " [...]"


def test_truncation_is_deterministic_and_recorded():
  long_review = "great " * 400  # 2400 chars
  ex = example(review=long_review, desc="d" * 3000, n_hist=8)
  budget = Budget(max_prompt_chars=6000, max_field_chars=1000, min_field_chars=100)
  p1 = build_prompt(ex, "reasoning", budget=budget)
  p2 = build_prompt(ex, "reasoning", budget=budget)
  assert p1 == p2 and p1.sha256() == p2.sha256()
  t = p1.truncation
  assert len(p1.text) <= 6000 and not t.over_budget
  assert t.truncated and t.field_cap < 1000 and t.history_dropped == 0
  assert "history[0].review" in t.clipped and "target.description" in t.clipped
  assert t.chars_removed > 0
  # Nothing to cut: nothing recorded.
  assert not build_prompt(example(), "reasoning", budget=budget).truncation.truncated


def test_oldest_history_dropped_last_and_over_budget_flagged():
  ex = example(review="r" * 500, desc="d" * 500, n_hist=10)
  p = build_prompt(ex, "reasoning", budget=Budget(max_prompt_chars=2500, max_field_chars=500,
                                                  min_field_chars=100, min_history=1))
  t = p.truncation
  assert t.field_cap == 100 and t.history_dropped > 0 and len(p.text) <= 2500
  assert "Shampoo 9" in p.text and "Shampoo 0" not in p.text  # the most recent entries stay
  tiny = build_prompt(ex, "reasoning", budget=Budget(max_prompt_chars=500, min_history=2))
  assert tiny.truncation.over_budget and tiny.truncation.history_dropped == 8


def test_no_budget_means_no_truncation():
  ex = example(review="r" * 5000)
  p = build_prompt(ex, "reasoning", budget=Budget(max_prompt_chars=None, max_field_chars=10**9))
  assert not p.truncation.truncated and "r" * 5000 in p.text
  assert dataclasses.asdict(p.truncation)["clipped"] == ()
