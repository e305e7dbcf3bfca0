"""HTML fragments in Amazon text -> plain text, with lxml's HTML parser (libxml2).

Real files carry markup: 2018 metadata titles that are a bare `<span class="a-size-medium
a-color-secondary"` fragment, descriptions with tags and entities (`&amp;`, `&quot;`), 2023 review
text with `<br />`. lxml is already a pinned dependency, is maintained with libxml2 and parses
fragments fast in C; BeautifulSoup would add a dependency that only wraps the same parser.

The parser only runs on strings that look like they contain markup or an entity (a cheap
substring test first), so ordinary text costs one `in` check per string.
"""
from __future__ import annotations

import re
from typing import Optional

# A tag opening (<a, </a, <!--, <?xml) or an entity (&amp; &#39; &#x27;). "a < b", "I <3 it" and
# "AT&T" do not match, so they are never parsed.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Elements after which the text continues on a new line.
_BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
                     "table", "blockquote"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def has_markup(text: str) -> bool:
  """Whether `text` may hold a tag or an entity (and so needs the parser)."""
  return ("<" in text or "&" in text) and _MARKUP.search(text) is not None


def to_text(fragment: str) -> str:
  """The text of an HTML fragment: tags dropped, entities decoded, <br>/<p> as line breaks."""
  import lxml.etree  # pylint: disable=import-outside-toplevel
  import lxml.html  # pylint: disable=import-outside-toplevel
  try:
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
  except (lxml.etree.ParserError, ValueError):  # nothing but markup, or not parseable at all
    return ""
  for el in root.iter():
    if isinstance(el.tag, str) and el.tag.lower() in _BREAKS:
      el.tail = "\n" + (el.tail or "")
    elif not isinstance(el.tag, str):  # comments, processing instructions: no text
      el.text = ""
  text = _SPACES.sub(" ", root.text_content())
  return _NEWLINES.sub("\n", text).strip()


def clean(text: Optional[str]) -> tuple[Optional[str], bool]:
  """(plain text or None when nothing is left, whether markup was removed)."""
  if text is None:
    return None, False
  if not has_markup(text):
    return (text if text.strip() else None), False
  plain = to_text(text)
  return (plain or None), True
