"""Writes a report as Markdown (PNGs beside it) and as one self-contained HTML file."""
from __future__ import annotations

import base64
import dataclasses
import html
import os
from typing import Sequence

from markdown_it import MarkdownIt


@dataclasses.dataclass(frozen=True)
class Section:
  title: str
  body: str = ""  # markdown
  images: tuple[tuple[str, str], ...] = ()  # (caption, png path)


def to_markdown(title: str, sections: Sequence[Section], out_dir: str) -> str:
  parts = [f"# {title}", ""]
  for s in sections:
    parts += [f"## {s.title}", ""]
    if s.body:
      parts += [s.body.rstrip(), ""]
    for caption, path in s.images:
      parts += [f"![{caption}]({os.path.relpath(path, out_dir)})", f"*{caption}*", ""]
  return "\n".join(parts)


def to_html(title: str, sections: Sequence[Section]) -> str:
  md = MarkdownIt("commonmark").enable("table")
  body = []
  for s in sections:
    body.append(f"<h2>{html.escape(s.title)}</h2>")
    if s.body:
      body.append(md.render(s.body))
    for caption, path in s.images:
      with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
      body.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                  f"<figcaption>{html.escape(caption)}</figcaption></figure>")
  style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
           "text-align:right}th:first-child,td:first-child{text-align:left}figure{display:inline-block;"
           "margin:0.5em}figcaption{font-size:0.85em;color:#555}pre{white-space:pre-wrap}")
  return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
          f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{''.join(body)}</body></html>")


def write_report(title: str, sections: Sequence[Section], out_dir: str) -> tuple[str, str]:
  """Writes report.md and report.html into out_dir; returns their paths."""
  os.makedirs(out_dir, exist_ok=True)
  md_path, html_path = os.path.join(out_dir, "report.md"), os.path.join(out_dir, "report.html")
  with open(md_path, "w", encoding="utf-8") as f:
    f.write(to_markdown(title, sections, out_dir))
  with open(html_path, "w", encoding="utf-8") as f:
    f.write(to_html(title, sections))
  return md_path, html_path
