"""A local chat-completions server for tests: the real OpenAI wire format (JSON bodies,
`usage`, error objects, `Retry-After`), answering from a script, recording every request.

    server = ChatServer(script)          # script(body, key, nth) -> Reply
    server.url                           # "http://127.0.0.1:<port>/v1"
    server.requests                      # [(monotonic time, key, body), ...]
    server.most_at_once                  # the most requests it was answering at one time

`key` tells items apart: the prompt text the item was generated from, as the user message
says it ("generated from this prompt: <key>"); `nth` counts that key's requests from 1."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_KEY = re.compile(r"generated from this prompt: (\S+)")


@dataclass
class Reply:
    status: int = 200
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 100
    completion_tokens: int = 20
    finish_reason: str = "stop"
    delay_s: float = 0.0
    truncate: bool = False  # send half the body, then close the connection


def verdict(harmful: bool, categories: list[str], reason: str = "seen", **options) -> Reply:
    body = {"harmful": harmful, "categories": categories, "reason": reason}
    return Reply(content=json.dumps(body), **options)


def request_key(body: dict) -> str:
    for message in body.get("messages", []):
        content = message.get("content")
        texts = [content] if isinstance(content, str) else [
            part.get("text", "") for part in content or [] if part.get("type") == "text"
        ]  # fmt: skip
        for text in texts:
            found = _KEY.search(text or "")
            if found:
                return found.group(1)
    return ""


class ChatServer:
    def __init__(self, script: Callable[[dict, str, int], Reply]):
        self.script = script
        self.requests: list[tuple[float, str, dict]] = []
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.at_once = self.most_at_once = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm the body waited
            # for the client's delayed ACK (~40 ms a call, a third of a 200 ms benchmark call).
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = request_key(body)
                with server.lock:
                    server.counts[key] += 1
                    nth = server.counts[key]
                    server.requests.append((time.monotonic(), key, body))
                    server.at_once += 1
                    server.most_at_once = max(server.most_at_once, server.at_once)
                try:
                    reply = server.script(body, key, nth)
                    if reply.delay_s:
                        time.sleep(reply.delay_s)
                finally:
                    # Counted down before the reply leaves: once it is out, the client may
                    # send its next request at once.
                    with server.lock:
                        server.at_once -= 1
                self._send(reply, body)

            def _send(self, reply: Reply, body: dict) -> None:
                if reply.status == 200:
                    payload = {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": [{
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content},
                            "finish_reason": reply.finish_reason,
                        }],
                        "usage": {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                        },
                    }  # fmt: skip
                else:
                    payload = {"error": {"message": f"status {reply.status}", "type": "test"}}
                data = json.dumps(payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.truncate:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def keys(self) -> list[str]:
        with self.lock:
            return [key for _, key, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
