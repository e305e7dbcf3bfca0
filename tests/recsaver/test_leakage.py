"""Leakage removal on explanations written the way teacher models write them."""
import pytest

from recsaver_t5x.recsaver.leakage import leak_reason, remove_leakage, split_sentences

POST_HOC = (
    "The user gave a rating of 5 because the serum matches their love of lightweight, "
    "fragrance-free skincare. They previously rated a similar hyaluronic acid serum 5/5 and "
    "praised its texture, e.g. \"absorbs fast.\" Dr. Smith's line is also a favourite.\n"
    "The user consistently enjoys products from brands like CeraVe and La Roche-Posay.\n"
    "- They dislike heavy creams and sticky textures.\n"
    "- Overall, this product earns 5 stars from them!\n\n"
    "Therefore, I would give it a five. Their score reflects satisfaction. It costs $5.99, "
    "cheap for a serum. They bought 5 items from U.S. brands in 2019.")


def test_split_sentences_round_trips_and_respects_abbreviations():
  pieces = split_sentences(POST_HOC)
  assert "".join(s + ws for s, ws in pieces) == POST_HOC
  sentences = [s for s, _ in pieces]
  assert any(s.startswith("They previously rated") and s.endswith('"absorbs fast."')
             for s in sentences)  # "e.g." does not end a sentence
  assert "They bought 5 items from U.S. brands in 2019." in sentences  # nor does "U.S."
  assert "Dr. Smith's line is also a favourite." in sentences
  assert "- They dislike heavy creams and sticky textures." in sentences  # line breaks do
  assert len(sentences) == 10


def test_remove_leakage_keeps_audit_trail():
  cleaned = remove_leakage(POST_HOC, true_rating=5)
  assert cleaned.text == (
      "Dr. Smith's line is also a favourite.\n"
      "The user consistently enjoys products from brands like CeraVe and La Roche-Posay.\n"
      "- They dislike heavy creams and sticky textures.\n\n"
      "It costs $5.99, cheap for a serum. They bought 5 items from U.S. brands in 2019.")
  reasons = [r.reason for r in cleaned.removed]
  assert reasons == ["'a rating of'", "states the true rating 5", "mentions stars",
                     "states the true rating 5", "mentions score"]
  assert cleaned.removed[0].text.startswith("The user gave a rating of 5 because")
  assert cleaned.original == POST_HOC
  again = type(cleaned).from_dict(cleaned.to_dict())
  assert again == cleaned


@pytest.mark.parametrize("sentence,rating,expected", [
    ("The user would likely give this product a rating of 4.", 4, "'a rating of'"),
    ("They rated it 4 out of 5 stars.", 4, "mentions stars"),
    ("This is a solid 4-star purchase.", 4, "mentions stars"),
    ("A 3 star experience overall.", 3, "mentions stars"),
    ("The scores of their past beauty purchases are high.", 2, "mentions score"),
    ("Rating: 2", 2, "states the true rating 2"),
    ("**Rating:** two", 2, "states the true rating 2"),
    ("I predict the user rates it 3 because of the mixed reviews.", 3, "states the true rating 3"),
    ("Hence they gave the video a 1.", 1, "states the true rating 1"),
    ("The mascara deserves 4/5 from this user.", 4, "states the true rating 4"),
    ("It is a clear 5.0 rating for them.", 5, "states the true rating 5"),
    ("**5**", 5, "states the true rating 5"),
    ("4.", 4, "states the true rating 4"),
    ("3", 4, None),
    ("The user rated similar lipsticks 4 in the past.", 5, None),  # another rating: no leak
    ("The set has 5 brushes and costs $5.", 5, None),
    ("They watched 15 thrillers and rated most of them highly.", 5, None),
    ("The user enjoys long-lasting, smudge-proof eyeliners.", 4, None),
])
def test_leak_reason(sentence, rating, expected):
  assert leak_reason(sentence, rating) == expected


def test_nothing_left_is_empty_text():
  cleaned = remove_leakage("The user gave a rating of 3. 3 stars.", 3)
  assert cleaned.text == "" and len(cleaned.removed) == 2
