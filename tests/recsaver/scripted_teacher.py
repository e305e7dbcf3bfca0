"""A deterministic OpenAI-compatible teacher on 127.0.0.1 for Algorithm 1's bookkeeping tests.

Real sockets and HTTP; the answer depends only on the prompt, so each path of Algorithm 1
(verified, rejected, empty after leakage removal, unparsed verification) is reached on purpose:
- explanation prompts: the new item's title names a script ("praise", "empty", "unsure");
- verification prompts: "praise" in the explanation -> rating 5, "unsure" -> no rating.
The real teacher (llama.cpp with SmolLM2) is exercised by the slow tests.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXPLAIN = {
    "praise": ("### Reason ###\nThe user gave a rating of {r} because the conditioner fits. "
               "Past reviews praise gentle, fragrance-free hair care.\nThey buy Acme often.\n"
               "### Rating ###\n{r}"),
    "empty": "### Reason ###\nThe user gave a rating of {r}. Definitely {r} stars.",
    "unsure": "### Reason ###\nThe user is unsure about conditioners; the history is mixed.",
}


def answer(prompt: str) -> str:
  if "### Explanation: ###" in prompt:  # verification
    explanation = prompt.split("### Explanation: ###", 1)[1]
    if "praise" in explanation:
      return "### Rating ###\n5"
    return "I cannot tell from this information."
  rating = re.search(r"The user rated the new \w+ (\d)", prompt).group(1)
  title = re.search(r"New Product\nProduct Title: (\w+)", prompt).group(1)
  return EXPLAIN[title].format(r=rating)


class ScriptedTeacher:
  def __init__(self, model: str = "scripted"):
    self.model = model
    self.prompts: list[str] = []
    outer = self

    class Handler(BaseHTTPRequestHandler):
      protocol_version = "HTTP/1.1"

      def log_message(self, *args):
        pass

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        prompt = body["messages"][-1]["content"]
        outer.prompts.append(prompt)
        resp = {"id": "x", "object": "chat.completion", "model": outer.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer(prompt)}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
        data = json.dumps(resp).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self._httpd.daemon_threads = True
    self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

  @property
  def url(self) -> str:
    return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

  def __enter__(self) -> "ScriptedTeacher":
    self._thread.start()
    return self

  def __exit__(self, *exc) -> None:
    self._httpd.shutdown()
    self._httpd.server_close()
