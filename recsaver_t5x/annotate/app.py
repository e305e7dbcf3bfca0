"""The study's web app (FastAPI): a page per rater link, a JSON API, an organiser page.

  GET  /r/<token>                   the rater page (static HTML/CSS/JS from this package, no CDN)
  GET  /api/r/<token>/item[?id=..]  an item (default: the rater's next unanswered one)
  POST /api/r/<token>/answer        persist an answer, then the client asks for the next item
  GET  /admin/<token>               organiser: progress per rater, inter-annotator agreement
"""
from __future__ import annotations

import html
import os
from typing import Optional

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict

from recsaver_t5x.annotate.study import ERROR_TYPES, Study

STATIC = os.path.join(os.path.dirname(__file__), "static")


class Answer(BaseModel):
  model_config = ConfigDict(extra="forbid")
  item_id: str
  coherence: int
  faithfulness: int
  insightfulness: int
  error_types: list[str] = []


def create_app(study: Study) -> FastAPI:
  app = FastAPI(title="recsaver annotate", docs_url=None, redoc_url=None, openapi_url=None)
  app.mount("/static", StaticFiles(directory=STATIC), name="static")

  def rater(token: str) -> str:
    name = study.rater_by_token(token)
    if name is None:
      raise HTTPException(404, "unknown rater link")
    return name

  @app.get("/r/{token}")
  async def page(token: str):
    rater(token)
    return FileResponse(os.path.join(STATIC, "rater.html"), headers={"Cache-Control": "no-store"})

  @app.get("/api/r/{token}/item")
  async def item(token: str, id: Optional[str] = None):  # pylint: disable=redefined-builtin
    name = rater(token)
    item_id = id or study.next_item(name)
    if item_id is None:
      return {"finished": True, "done": len(study.done(name)), "total": len(study.order(name)),
              "rater": name, "first": study.order(name)[0]}
    if item_id not in study.order(name):
      raise HTTPException(404, "unknown item")
    out = study.public_item(name, item_id)
    order = study.order(name)
    pos = order.index(item_id)
    out.update(rater=name, error_types=list(ERROR_TYPES),
               previous=order[pos - 1] if pos > 0 else None,
               following=order[pos + 1] if pos + 1 < len(order) else None)
    return out

  @app.post("/api/r/{token}/answer")
  async def answer(token: str, a: Answer):
    name = rater(token)
    try:
      study.submit(name, a.item_id, a.model_dump())
    except ValueError as e:
      return JSONResponse({"error": str(e)}, status_code=400)
    return {"saved": True, "done": len(study.done(name)), "total": len(study.order(name)),
            "next": study.next_item(name)}

  @app.get("/admin/{token}", response_class=HTMLResponse)
  async def admin(token: str):
    if not study.is_organiser(token):
      raise HTTPException(404, "unknown organiser link")
    return organiser_page(study)

  return app


def _table(columns, rows) -> str:
  head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
  body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r) + "</tr>"
                 for r in rows)
  return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v) -> str:
  if isinstance(v, float):
    return "n/a" if v != v else f"{v:.3f}"
  return str(v)


def organiser_page(study: Study) -> str:
  prog = study.progress()
  rows = [[p["rater"], f"{p['done']} / {p['total']}",
           "done" if p["done"] == p["total"] else "in progress"] for p in prog]
  parts = [f"<h1>Study progress</h1><p>{len(study.items)} items; answers are saved in "
           f"<code>{html.escape(study.annotations_path)}</code> (input of "
           "<code>recsaver alignment</code>).</p>", _table(["Rater", "Answered", "Status"], rows)]
  table = study.agreement()
  if table is None:
    parts.append("<p>No answers yet.</p>")
  else:
    state = ("All raters are done: final agreement." if study.complete()
             else "Provisional: not every rater is done.")
    parts.append(f"<h2>{html.escape(table.title)}</h2><p>{state}</p>")
    parts.append(_table(table.columns, table.rows))
    parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in table.notes) + "</ul>")
  return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Study progress"
          "</title><link rel='stylesheet' href='/static/rater.css'></head><body class='admin'>"
          f"<main>{''.join(parts)}</main></body></html>")
