// Rater page: loads one item at a time from /api/r/<token>/..., saves each answer at once.
"use strict";
const token = location.pathname.split("/").filter(Boolean).pop();
const api = (p) => `/api/r/${encodeURIComponent(token)}/${p}`;
const QUESTIONS = ["coherence", "faithfulness", "insightfulness", "errors"];
const ERROR_KEYS = { "incorrect product statistics": "s", "incorrect product information": "i",
                     "arithmetic errors": "a", "other": "o" };
let current = null, active = 0, firstId = null;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const missing = (v) => v == null || v === "" || (Array.isArray(v) && !v.length);
function stars(n) {
  const s = el("span", { class: "stars", title: `rated ${n} of 5`, "aria-label": `rated ${n} of 5` });
  for (let i = 1; i <= 5; i++) s.append(el("span", { class: i <= n ? "on" : "off", text: "★" }));
  return s;
}
function itemBlock(item, extra) {
  const meta = el("div", { class: "meta" });
  if (!missing(item.brand)) meta.append(el("span", { text: item.brand }));
  if (!missing(item.price)) meta.append(el("span", { text: item.price }));
  if (!missing(item.categories)) meta.append(el("span", { text: item.categories.join(" › ") }));
  const box = el("div", {}, el("div", { class: "title", text: missing(item.title) ? "(no title)" : item.title }), meta);
  if (extra) box.append(extra);
  if (!missing(item.description)) {
    box.append(el("details", { class: "desc" }, el("summary", { text: "Description" }),
                  el("div", { text: item.description })));
  }
  return box;
}
function date(ts) {
  if (!ts || ts < 1e8) return "";  // no real date (synthetic or missing)
  const d = new Date(ts * 1000);
  return isNaN(d) ? "" : d.toISOString().slice(0, 10);
}

function buildChoices() {
  for (const box of document.querySelectorAll(".choices")) {
    const name = box.dataset.name, values = box.dataset.values.split(",");
    const labels = box.dataset.labels ? box.dataset.labels.split(",") : values;
    box.replaceChildren(...values.map((v, i) => {
      const key = name === "faithfulness" ? (v === "1" ? "y" : "n") : v;
      // a digit button needs no separate key hint: the digit is the key
      return el("label", {}, el("input", { type: "radio", name, value: v }), labels[i],
                key === labels[i] ? null : el("kbd", { text: key }));
    }));
  }
}
function buildErrors(types) {
  document.getElementById("errors").replaceChildren(...types.map((t) =>
    el("label", {}, el("input", { type: "checkbox", name: "error_types", value: t }),
       t[0].toUpperCase() + t.slice(1), el("kbd", { text: ERROR_KEYS[t] || "" }))));
}
function setActive(i) {
  active = Math.max(0, Math.min(QUESTIONS.length - 1, i));
  document.querySelectorAll("fieldset.q").forEach((f, j) => f.classList.toggle("active", j === active));
}
function setRadio(name, value) {
  const input = document.querySelector(`input[name="${name}"][value="${value}"]`);
  if (input) input.checked = true;
}
function status(text, kind = "") {
  const s = document.getElementById("status");
  s.textContent = text; s.className = "status " + kind;
}

function render(it) {
  current = it;
  document.getElementById("finished").hidden = true;
  document.getElementById("main").hidden = false;
  document.getElementById("who").textContent = `Rater: ${it.rater}`;
  document.getElementById("count").textContent = `Item ${it.position} of ${it.total} · ${it.done} saved`;
  document.getElementById("bar").style.width = `${100 * it.done / it.total}%`;
  document.getElementById("target").replaceChildren(itemBlock(it.target));
  document.getElementById("hist-hint").textContent = `${it.history.length} reviews, oldest first`;
  document.getElementById("history").replaceChildren(...it.history.map((h, i) => {
    const review = el("div", { class: "review" });
    if (!missing(h.summary)) review.append(el("span", { class: "summary", text: h.summary + " " }));
    review.append(missing(h.review) ? el("em", { text: "no review text" }) : h.review);
    const head = el("div", { class: "rated" }, stars(h.rating),
                    el("span", { class: "date meta", text: date(h.timestamp) }));
    return el("li", {}, el("div", { class: "num", text: `${i + 1}.` }),
              el("div", { class: "card" }, itemBlock(h.item, null), head, review));
  }));
  document.getElementById("reasoning").textContent = it.reasoning;
  buildErrors(it.error_types);
  document.getElementById("form").reset();
  if (it.answer) {
    setRadio("coherence", it.answer.coherence);
    setRadio("faithfulness", it.answer.faithfulness);
    setRadio("insightfulness", it.answer.insightfulness);
    for (const t of it.answer.error_types) {
      const c = document.querySelector(`input[name="error_types"][value="${t}"]`);
      if (c) c.checked = true;
    }
    status("You answered this item already; saving replaces that answer.", "saved");
  } else status("");
  document.getElementById("prev").disabled = !it.previous;
  setActive(0);
  window.scrollTo(0, 0);
  history.replaceState(null, "", `${location.pathname}#${it.item_id}`);
}
function finished(info) {
  current = null;
  firstId = info.first;
  document.getElementById("main").hidden = true;
  document.getElementById("finished").hidden = false;
  document.getElementById("bar").style.width = "100%";
  document.getElementById("count").textContent = `${info.done} of ${info.total} saved`;
  document.getElementById("finished-text").textContent =
    `All ${info.total} items are saved. You can close this page.`;
}
async function load(id) {
  const r = await fetch(api("item") + (id ? `?id=${encodeURIComponent(id)}` : ""));
  if (!r.ok) { status(`Could not load the item (${r.status}).`, "error"); return; }
  const it = await r.json();
  it.finished ? finished(it) : render(it);
}
function value(name) {
  const c = document.querySelector(`input[name="${name}"]:checked`);
  return c ? Number(c.value) : null;
}
async function save() {
  if (!current) return;
  const body = { item_id: current.item_id, coherence: value("coherence"),
                 faithfulness: value("faithfulness"), insightfulness: value("insightfulness"),
                 error_types: [...document.querySelectorAll('input[name="error_types"]:checked')].map((c) => c.value) };
  const missingQ = ["coherence", "faithfulness", "insightfulness"].filter((q) => body[q] == null);
  if (missingQ.length) {
    status(`Please answer: ${missingQ.join(", ")}.`, "error");
    setActive(QUESTIONS.indexOf(missingQ[0]));
    return;
  }
  const r = await fetch(api("answer"), { method: "POST", headers: { "content-type": "application/json" },
                                         body: JSON.stringify(body) });
  if (!r.ok) { status(`Not saved (${r.status}): ${(await r.text()).slice(0, 200)}`, "error"); return; }
  const out = await r.json();
  // after revising an item go on in order; else to the next unanswered one
  await load(current.answer && current.following ? current.following : out.next);
}

document.getElementById("form").addEventListener("submit", (e) => { e.preventDefault(); save(); });
document.getElementById("prev").addEventListener("click", () => current && current.previous && load(current.previous));
document.getElementById("review").addEventListener("click", () => firstId && load(firstId));
document.querySelectorAll("fieldset.q").forEach((f, j) => f.addEventListener("click", () => setActive(j)));
document.addEventListener("keydown", (e) => {
  if (!current || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key.toLowerCase(), q = QUESTIONS[active];
  if (/^[1-5]$/.test(k) && (q === "coherence" || q === "insightfulness")) {
    setRadio(q, k); setActive(active + 1); e.preventDefault();
  } else if (k === "y" || k === "n") {
    setRadio("faithfulness", k === "y" ? 1 : 0); if (q === "faithfulness") setActive(active + 1); e.preventDefault();
  } else if (q === "faithfulness" && (k === "1" || k === "0")) {
    setRadio("faithfulness", k); setActive(active + 1); e.preventDefault();
  } else if (Object.values(ERROR_KEYS).includes(k)) {
    const t = Object.keys(ERROR_KEYS).find((x) => ERROR_KEYS[x] === k);
    const c = document.querySelector(`input[name="error_types"][value="${t}"]`);
    if (c) c.checked = !c.checked; e.preventDefault();
  } else if (e.key === "ArrowDown") { setActive(active + 1); e.preventDefault(); }
  else if (e.key === "ArrowUp") { setActive(active - 1); e.preventDefault(); }
  else if (e.key === "ArrowLeft" && current.previous) { load(current.previous); e.preventDefault(); }
  else if (e.key === "ArrowRight" && current.following) { load(current.following); e.preventDefault(); }
  else if (e.key === "Enter" && e.target.tagName !== "BUTTON") { save(); e.preventDefault(); }
});
buildChoices();
load(location.hash ? location.hash.slice(1) : null);
