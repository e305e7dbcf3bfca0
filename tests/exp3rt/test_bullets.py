"""[Like]/[Dislike] parsing and canonical rendering."""
from recsaver_t5x.exp3rt import bullets


def test_parse_lenient_render_canonical():
  text = ("Sure! Here it is.\n**[Like]**\n* great articles\n1. nice photos\n"
          "[Dislike]:\n- None.\nAverage rating: 4.2")
  p = bullets.parse(text)
  assert p.parsed and p.like == ("great articles", "nice photos") and p.dislike == ()
  assert p.render() == "[Like]\n- great articles\n- nice photos\n[Dislike]\n- None."
  assert bullets.parse(p.render()) == p  # canonical form is a fixed point


def test_unparsed_and_caps():
  assert not bullets.parse("I cannot help with that.").parsed
  assert bullets.parse(None).empty
  p = bullets.parse("Likes: a\n- b\n- c\nDislikes: d")
  assert p.like == ("a", "b", "c") and p.dislike == ("d",)
  assert p.capped(2).like == ("a", "b")
