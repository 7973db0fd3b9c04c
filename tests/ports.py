"""A free TCP port on loopback, for the servers the tests start (gunicorn, moto, a closed
broker address)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on right now (the probe socket is closed again on return)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
