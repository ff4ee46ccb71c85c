"""The HTTP-over-unix-socket server the test plugins share: one POST route per protocol method,
JSON in and out, a thread per connection (a hanging method stalls only its own caller).

Stdlib only, run as its own process (`python3 tests/plugins/servers/<kind>.py --socket PATH ...`),
so the daemon talks to a real plugin process exactly as it would to a third-party one."""
from __future__ import annotations

import argparse
import json
import os
import socketserver
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"
Method = Callable[[dict[str, Any]], Any]


class Refused(Exception):
    """A method's error: answered as {"Err": message} with status 500, as go-plugins-helpers does."""


class Garbage(Exception):
    """Answer these bytes as they are (a plugin that speaks no JSON)."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: str, methods: dict[str, Method], calls_log: str | None = None) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = self.path.lstrip("/")
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = None
            if calls_log:
                with open(calls_log, "a") as f:
                    f.write(json.dumps({"method": method, "payload": payload,
                                        "content_type": self.headers.get("Content-Type")}) + "\n")
            status, body = 200, b""
            try:
                if method not in methods:
                    status, body = 404, b"404 page not found\n"
                else:
                    body = json.dumps(methods[method](payload or {})).encode()
            except Refused as e:
                status, body = 500, json.dumps({"Err": str(e)}).encode()
            except Garbage as e:
                body = str(e).encode()
            self.send_response(status)
            self.send_header("Content-Type", MEDIA_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    if os.path.exists(socket_path):
        os.unlink(socket_path)
    os.makedirs(os.path.dirname(socket_path), exist_ok=True)
    with _Server(socket_path, Handler) as server:
        server.serve_forever()


def arguments(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--socket", required=True, help="unix socket to listen on")
    p.add_argument("--calls-log", help="append every call (method, payload) to this file")
    return p
