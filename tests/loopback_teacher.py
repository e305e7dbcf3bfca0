"""A loopback OpenAI-compatible chat server whose answers come from a function of the prompt."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


def make(answer: Callable[[str], str]):
  """A context-manager class serving `answer(prompt)` on 127.0.0.1 (port chosen by the OS)."""

  class Teacher:
    def __init__(self, model: str = "rule-teacher"):
      self.model = model
      self.prompts: list[str] = []
      outer = self

      class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
          pass

        def _send(self, obj):
          data = json.dumps(obj).encode()
          self.send_response(200)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", str(len(data)))
          self.end_headers()
          self.wfile.write(data)

        def do_GET(self):
          self._send({"object": "list", "data": [{"id": outer.model, "object": "model"}]})

        def do_POST(self):
          body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
          prompt = body["messages"][-1]["content"]
          outer.prompts.append(prompt)
          self._send({"id": "x", "object": "chat.completion", "model": outer.model,
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": answer(prompt)}}],
                      "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": 8}})

      self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
      self._httpd.daemon_threads = True
      self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
      return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self):
      self._thread.start()
      return self

    def __exit__(self, *exc) -> None:
      self._httpd.shutdown()
      self._httpd.server_close()

  return Teacher
