"""A small OpenAI-compatible HTTP server on 127.0.0.1 that injects faults, for client tests.

Real sockets, real HTTP: each request takes the next action from a script ("ok", "500", "429",
"slow", "drop", "garbage", "401", "404", "400", "truncated"); when the script is empty, "ok".
An "ok" answer is deterministic in the request (it echoes the seed), so tests can check which
request produced which stored sample. Every request is recorded (path, headers, JSON body).
"""
from __future__ import annotations

import collections
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable, Optional


def ok_text(seed: Optional[int]) -> str:
  rating = (seed or 0) % 5 + 1
  return f"### Reason ###\nanswer for seed {seed}\n### Rating ###\n{rating}"


class FaultServer:
  """`with FaultServer(["500", "ok"]) as fs: fs.url` -> "http://127.0.0.1:PORT/v1"."""

  def __init__(self, script: Iterable[str] = (), slow_s: float = 2.0, ok_delay_s: float = 0.0,
               model: str = "fault-model"):
    self.script = collections.deque(script)
    self.slow_s = slow_s
    self.ok_delay_s = ok_delay_s
    self.model = model
    self.requests: list[dict] = []
    self.lock = threading.Lock()
    self.in_flight = 0
    self.max_in_flight = 0
    outer = self

    class Handler(BaseHTTPRequestHandler):
      protocol_version = "HTTP/1.1"

      def log_message(self, *args):  # quiet
        pass

      def _send(self, code: int, body: bytes, ctype: str = "application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
          self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

      def do_GET(self):
        with outer.lock:
          outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
          action = outer.script.popleft() if outer.script else "ok"
        if action in ("401", "404"):
          self._send(int(action), json.dumps({"error": {"message": f"injected {action}"}}).encode())
          return
        self._send(200, json.dumps({"object": "list", "data": [{"id": outer.model}]}).encode())

      def do_POST(self):
        with outer.lock:
          outer.in_flight += 1
          outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
        try:
          self._post()
        finally:
          with outer.lock:
            outer.in_flight -= 1

      def _post(self):
        n = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(n) or b"null")
        with outer.lock:
          outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
          action = outer.script.popleft() if outer.script else "ok"
        if action == "drop":  # close the connection without any response
          self.connection.shutdown(socket.SHUT_RDWR)
          self.close_connection = True
          return
        if action == "slow":
          time.sleep(outer.slow_s)
          action = "ok"
        if action == "garbage":
          self._send(200, b"{this is not json", extra=())
          return
        if action == "truncated":  # headers promise more bytes than are sent
          self.send_response(200)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", "1000")
          self.end_headers()
          self.wfile.write(b'{"choices": [')
          self.wfile.flush()
          self.connection.shutdown(socket.SHUT_RDWR)
          self.close_connection = True
          return
        if action == "429":
          self._send(429, json.dumps({"error": {"message": "rate limited"}}).encode(),
                     extra=(("Retry-After", "0"),))
          return
        if action in ("500", "502", "503"):
          self._send(int(action), b"internal error")
          return
        if action == "401":
          key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
          # Like some hosted APIs, echo the key back: the client must scrub it.
          self._send(401, json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode())
          return
        if action == "404":
          self._send(404, json.dumps({"error": {"message": f"The model `{body.get('model')}` does not exist",
                                                "code": "model_not_found"}}).encode())
          return
        if action == "400":
          self._send(400, json.dumps({"detail": "context length exceeded"}).encode())
          return
        if outer.ok_delay_s:
          time.sleep(outer.ok_delay_s)
        seed = body.get("seed")
        text = ok_text(seed)
        resp = {"id": "x", "object": "chat.completion", "model": outer.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}
        self._send(200, json.dumps(resp).encode())

    self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self._httpd.daemon_threads = True
    self.port = self._httpd.server_address[1]
    self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

  @property
  def url(self) -> str:
    return f"http://127.0.0.1:{self.port}/v1"

  def chat_requests(self) -> list[dict]:
    return [r for r in self.requests if r["path"].endswith("/chat/completions")]

  def __enter__(self) -> "FaultServer":
    self._thread.start()
    return self

  def __exit__(self, *exc) -> None:
    self._httpd.shutdown()
    self._httpd.server_close()


if __name__ == "__main__":  # a standalone server for kill -9 tests run in a subprocess
  import sys
  with FaultServer(ok_delay_s=float(sys.argv[1]) if len(sys.argv) > 1 else 0.0) as fs:
    print(fs.url, flush=True)
    threading.Event().wait()
