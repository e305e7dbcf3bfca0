"""Vocabulary of the synthetic-data generator: product themes and review phrase banks.

A theme names eight attribute axes; latent item factor k decides which pole of axis k an item
has (its sign) and how strongly (its magnitude: the strongest two poles go into the title).
Review sentences about an axis are praise or complaint depending on whether the user's latent
preference agrees with the item's pole, so the text carries the signal the ratings come from.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Theme:
  """Words for one kind of product catalog."""

  name: str
  nouns: tuple[str, ...]
  # (negative pole, positive pole) per latent dimension.
  axes: tuple[tuple[str, str], ...]
  subcategories: tuple[str, ...]
  rank_category: str
  style_key: str
  style_values: tuple[str, ...]
  feature_suffix: str


THEMES: dict[str, Theme] = {
    "beauty": Theme(
        name="beauty",
        nouns=("Moisturizer", "Serum", "Cleanser", "Shampoo", "Body Lotion", "Face Mask",
               "Lip Balm", "Hair Oil"),
        axes=(("unscented", "fragranced"), ("lightweight", "rich"), ("gentle", "intensive"),
              ("matte", "dewy"), ("botanical", "clinical"), ("travel-size", "family-size"),
              ("oil-free", "nourishing"), ("classic", "trendy")),
        subcategories=("Skin Care", "Hair Care", "Bath & Body", "Makeup", "Fragrance"),
        rank_category="Beauty & Personal Care", style_key="Size:",
        style_values=(" 1.7 oz", " 3.4 oz", " 7.0 oz", " 16 Fl Oz", " Pack of 2"),
        feature_suffix="formula"),
    "music": Theme(
        name="music",
        nouns=("Album", "EP", "Single", "Compilation", "Live Album", "Remaster", "Soundtrack",
               "Box Set"),
        axes=(("mellow", "energetic"), ("acoustic", "electronic"), ("vintage", "contemporary"),
              ("instrumental", "vocal-driven"), ("sparse", "lush"), ("raw", "polished"),
              ("dark", "upbeat"), ("mainstream", "experimental")),
        subcategories=("Rock", "Pop", "Jazz", "Classical", "Country", "Dance & Electronic"),
        rank_category="CDs & Vinyl", style_key="Format:",
        style_values=(" Audio CD", " MP3 Music", " Vinyl", " Audio Cassette"),
        feature_suffix="sound"),
    "movies": Theme(
        name="movies",
        nouns=("Film", "Series", "Documentary", "Box Set", "Miniseries", "Collection", "Feature",
               "Special"),
        axes=(("slow-paced", "action-packed"), ("lighthearted", "dark"),
              ("family-friendly", "mature"), ("classic", "modern"), ("realistic", "fantastical"),
              ("subtle", "dramatic"), ("short", "epic"), ("mainstream", "arthouse")),
        subcategories=("Drama", "Comedy", "Action & Adventure", "Documentary", "Kids & Family"),
        rank_category="Movies & TV", style_key="Format:",
        style_values=(" DVD", " Blu-ray", " Prime Video", " Amazon Video"),
        feature_suffix="storytelling"),
    "generic": Theme(
        name="generic",
        nouns=("Gadget", "Organizer", "Tool Set", "Desk Lamp", "Water Bottle", "Backpack",
               "Speaker", "Storage Box"),
        axes=(("compact", "full-size"), ("lightweight", "heavy-duty"), ("matte", "glossy"),
              ("minimalist", "feature-packed"), ("classic", "modern"), ("quiet", "powerful"),
              ("soft", "rigid"), ("neutral-toned", "colorful")),
        subcategories=("Home", "Outdoors", "Office", "Travel", "Kitchen"),
        rank_category="Home & Kitchen", style_key="Color:",
        style_values=(" Black", " White", " Blue", " Gray", " Red"),
        feature_suffix="design"),
}


def theme_for(category: str) -> Theme:
  """Picks the theme whose words fit a category name (All_Beauty -> beauty, ...)."""
  low = category.lower()
  if "beauty" in low or "cosmetic" in low:
    return THEMES["beauty"]
  if "music" in low or "cd" in low.split("_") or "vinyl" in low:
    return THEMES["music"]
  if "movie" in low or "tv" in low.split("_") or "video" in low:
    return THEMES["movies"]
  return THEMES["generic"]


# Review sentences about one attribute pole `{w}`; praise when the user's taste matches.
PRAISE = ("I love how {w} it is.", "The {w} character is exactly what I wanted.",
          "Being {w} is a big plus for me.", "Really happy that it is so {w}.")
COMPLAINT = ("It is too {w} for my taste.", "I did not expect it to be this {w}.",
             "The {w} style is just not for me.", "Sadly it is way too {w}.")

# Per star rating (index 0 = 1 star): openers, closers and summaries.
OPENERS = (
    ("Very disappointed with this one.", "Waste of money.", "Do not buy this.",
     "Worst purchase in a long time.", "Returned it after one try."),
    ("Not great, honestly.", "Below my expectations.", "I wanted to like it but could not.",
     "Mostly disappointing.", "Would not buy it again."),
    ("It is okay.", "Mixed feelings about this one.", "Average at best.",
     "Does the job, nothing more.", "Some good, some bad."),
    ("Pretty good overall.", "Happy with this purchase.", "Solid choice.",
     "Better than I expected.", "Good value."),
    ("Absolutely love it!", "Exceeded my expectations.", "Five stars, would buy again.",
     "One of the best I have tried.", "Perfect, just perfect."),
)
CLOSERS = (
    ("Avoid.", "Save your money.", "I regret buying it.", "Not recommended at all."),
    ("Maybe it works for someone else.", "Probably will not repurchase.",
     "There are better options.", "Meh."),
    ("Might buy again on sale.", "Fine for the price.", "Not bad, not amazing.",
     "Your mileage may vary."),
    ("Would recommend.", "I will probably buy it again.", "Nice quality for the price.",
     "Minor flaws but good."),
    ("Highly recommend!", "Already ordered another one.", "Cannot say enough good things.",
     "A must have."),
)
SUMMARIES = (
    ("One Star", "Terrible", "Do not waste your money", "Very disappointed"),
    ("Two Stars", "Not worth it", "Meh", "Could be better"),
    ("Three Stars", "It is okay", "Average", "Decent but not great"),
    ("Four Stars", "Pretty good", "Nice", "Good value"),
    ("Five Stars", "Love it", "Excellent", "Great product"),
)
QUALITY_WORDS = ("budget", "everyday", "premium")

# Syllables for synthetic brand names.
BRAND_SYLLABLES = ("ve", "lo", "ra", "ny", "zo", "qu", "mi", "tal", "bri", "sen", "co", "dar",
                   "fi", "lux", "no", "pel")
