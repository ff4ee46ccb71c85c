"""A tiny read-only registry for failure tests: bearer-token auth, truncated or corrupted blobs,
Range support. Serves blobs and manifests from dicts; runs in a thread on 127.0.0.1."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeRegistry:
    def __init__(self, bearer: bool = False, user: str = "", password: str = "") -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[str, bytes]] = {}   # tag or digest -> (media type, bytes)
        self.bearer = bearer
        self.user, self.password = user, password
        self.cut_after: dict[str, int] = {}      # digest -> close the connection after N bytes (once)
        self.corrupt: set[str] = set()           # digests served with a flipped byte
        self.ignore_range = False
        self.token_requests: list[str] = []
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeRegistry":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_image(self, repo: str, tag: str, media_type: str, manifest: bytes, blobs: dict[str, bytes]) -> None:
        import hashlib
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        self.manifests[f"{repo}:{tag}"] = (media_type, manifest)
        self.manifests[f"{repo}:{digest}"] = (media_type, manifest)
        self.blobs.update(blobs)

    def _handler(self) -> type:
        reg = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _authorized(self) -> bool:
                if not reg.bearer:
                    return True
                if self.headers.get("Authorization") == "Bearer good-token":
                    return True
                self._send(401, json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode(),
                           {"WWW-Authenticate": f'Bearer realm="http://{reg.host}/token",service="fake",scope="x"',
                            "Content-Type": "application/json"})
                return False

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                reg.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?", 1)[0]
                if path == "/token":
                    import base64
                    reg.token_requests.append(self.path)
                    want = "Basic " + base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
                    if reg.user and self.headers.get("Authorization") != want:
                        self._send(401, b'{"details":"bad credentials"}')
                        return
                    self._send(200, json.dumps({"token": "good-token", "expires_in": 300}).encode())
                    return
                if not self._authorized():
                    return
                if path == "/v2/":
                    self._send(200, b"{}")
                    return
                parts = path[len("/v2/"):].split("/")
                if len(parts) >= 3 and parts[-2] == "manifests":
                    key = "/".join(parts[:-2]) + ":" + parts[-1]
                    if key not in reg.manifests:
                        self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                        return
                    mt, data = reg.manifests[key]
                    self._send(200, data, {"Content-Type": mt})
                    return
                if len(parts) >= 3 and parts[-2] == "blobs":
                    digest = parts[-1]
                    if digest not in reg.blobs:
                        self._send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
                        return
                    data = reg.blobs[digest]
                    if digest in reg.corrupt:
                        data = data[:-1] + bytes([data[-1] ^ 0xFF])
                    start = 0
                    rng = self.headers.get("Range")
                    status = 200
                    if rng and not reg.ignore_range:
                        start = int(rng.split("=")[1].split("-")[0])
                        status = 206
                    body = data[start:]
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    if status == 206:
                        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    cut = reg.cut_after.pop(digest, None)
                    if cut is not None:
                        self.wfile.write(body[:cut])
                        self.wfile.flush()
                        self.close_connection = True
                        import socket
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(body)
                    return
                self._send(404, b"{}")

        return Handler
