"""The listening socket of our HTTP servers (`recsaver serve`, `recsaver annotate`).

The socket is bound before uvicorn starts, so a busy port is a one-line error and port 0 gives
the OS-chosen port to announce.
"""
from __future__ import annotations

import ipaddress
import socket

from recsaver_t5x.errors import UserFacingError


def is_loopback(host: str) -> bool:
  """Whether `host` only accepts connections from this machine."""
  if host == "localhost":
    return True
  try:
    return ipaddress.ip_address(host).is_loopback
  except ValueError:
    return False


def bind(host: str, port: int) -> socket.socket:
  """A bound TCP socket (IPv6 when the host is an IPv6 address), or a one-line error."""
  sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
  sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  try:
    sock.bind((host, port))
  except OSError as e:
    sock.close()
    raise UserFacingError(f"cannot bind {host}:{port}: {e.strerror}") from None
  return sock
