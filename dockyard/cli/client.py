"""A thin stdlib Engine API client: HTTP/1.1 over a unix socket or TCP (TLS as the docker CLI), JSON and streams."""
from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import urllib.parse
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Sequence

API_VERSION = "1.41"
DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"
CLIENT_VERSION = "0.1.0"
USER_AGENT = f"Dockyard-Client/{CLIENT_VERSION}"
BLOCK = 64 * 1024

Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


class CLIError(Exception):
    """An error shown to the user as one line on stderr; `status` is the exit code."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class APIError(CLIError):
    """The daemon answered with an error status and a `{"message": ...}` body."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"Error response from daemon: {message}")
        self.status_code = status_code
        self.explanation = message


class DaemonUnreachable(CLIError):
    pass


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX socket."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout, blocksize=BLOCK)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def resolve_host(host: str | None) -> str:
    """-H, else DOCKYARD_HOST, else DOCKER_HOST, else the default socket."""
    return host or os.environ.get("DOCKYARD_HOST") or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


class TLSOptions:
    """The docker CLI's TLS flags and variables.

    --tlsverify or DOCKER_TLS_VERIFY (non-empty): TLS, and the daemon's certificate is checked
    against the CA; --tls alone: TLS without that check. Files default to ca.pem, cert.pem and
    key.pem in DOCKER_CERT_PATH (else ~/.docker); the client certificate is sent when present.
    """

    def __init__(self, tls: bool = False, verify: bool | None = None, cacert: str | None = None,
                 cert: str | None = None, key: str | None = None) -> None:
        if verify is None:
            verify = bool(os.environ.get("DOCKER_TLS_VERIFY"))
        self.verify = verify
        self.enabled = tls or verify
        base = os.environ.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
        self.cacert = cacert or os.path.join(base, "ca.pem")
        self.cert = cert or os.path.join(base, "cert.pem")
        self.key = key or os.path.join(base, "key.pem")

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if self.verify:
                ctx.load_verify_locations(self.cacert)
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if os.path.exists(self.cert) or os.path.exists(self.key):
                ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as e:
            raise CLIError(f"could not read the TLS files (ca {self.cacert}, cert {self.cert}, "
                           f"key {self.key}): {e}") from None
        return ctx


def encode_params(params: Params) -> str:
    """Query string; None values are dropped, booleans become 1/0, lists repeat the key."""
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            pairs.append((key, ("1" if v else "0") if isinstance(v, bool) else str(v)))
    return urllib.parse.urlencode(pairs)


def error_message(status: int, body: bytes) -> str:
    """The daemon's `message`, or the raw body, or the HTTP reason."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "message" in data:
            return str(data["message"])
    except ValueError:
        pass
    return text or http.client.responses.get(status, f"status {status}")


class Client:
    """One connection per request; responses are returned open for streaming."""

    def __init__(self, host: str | None = None, timeout: float | None = None,
                 tls: TLSOptions | None = None) -> None:
        self.host = resolve_host(host)
        self.timeout = timeout
        parsed = urllib.parse.urlparse(self.host)
        self.scheme = parsed.scheme
        tls = tls or TLSOptions()
        self.ssl: ssl.SSLContext | None = None
        if self.scheme == "unix":
            self.address: str | tuple[str, int] = parsed.path
        elif self.scheme in ("tcp", "http", "https"):
            secure = tls.enabled or self.scheme == "https"
            self.address = (parsed.hostname or "localhost", parsed.port or (2376 if secure else 2375))
            self.ssl = tls.context() if secure else None
        else:
            raise CLIError(f"unsupported host: {self.host} (use unix:///path or tcp://host:port)")

    # -- connections

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        if isinstance(self.address, str):
            return UnixHTTPConnection(self.address, timeout=timeout or self.timeout)
        host, port = self.address
        if self.ssl is not None:
            return http.client.HTTPSConnection(host, port, timeout=timeout or self.timeout, blocksize=BLOCK,
                                               context=self.ssl)
        return http.client.HTTPConnection(host, port, timeout=timeout or self.timeout, blocksize=BLOCK)

    def wrap(self, sock: socket.socket) -> socket.socket:
        """The TLS client side of a raw socket to a tcp:// host (hijacked streams); plain otherwise."""
        if self.ssl is None or isinstance(self.address, str):
            return sock
        try:
            return self.ssl.wrap_socket(sock, server_hostname=self.address[0])
        except (ssl.SSLError, OSError) as e:
            sock.close()
            raise CLIError(f"error during connect: {e}") from None

    def unreachable(self, exc: OSError) -> DaemonUnreachable:
        return DaemonUnreachable(f"Cannot connect to the Dockyard daemon at {self.host}. Is the daemon running?")

    def url(self, path: str, params: Params = None) -> str:
        query = encode_params(params)
        return f"/v{API_VERSION}{path}" + (f"?{query}" if query else "")

    # -- requests

    def send(self, method: str, path: str, params: Params = None, body: Any = None,
             headers: Mapping[str, str] | None = None) -> tuple[http.client.HTTPConnection, str]:
        """Send a request without reading the response (run sends `wait` before `start`)."""
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        payload: Any = body
        chunked = False
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None and not isinstance(body, (bytes, str)):
            hdrs["Transfer-Encoding"] = "chunked"
            chunked = True
        conn = self.connection()
        url = self.url(path, params)
        try:
            conn.request(method, url, body=payload, headers=hdrs, encode_chunked=chunked)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            conn.close()
            raise self.unreachable(exc) from None
        except ssl.SSLError as exc:
            conn.close()
            raise CLIError(f"error during connect: {exc}") from None
        except BrokenPipeError:
            # the daemon answered (an error) before reading the whole body
            pass
        return conn, url

    def receive(self, conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
        """Read the status and headers; raise APIError on an error status."""
        try:
            resp = conn.getresponse()
        except (ConnectionError, http.client.HTTPException) as exc:
            conn.close()
            raise CLIError(f"error during connect: {exc}") from None
        if resp.status >= 400:
            body = resp.read()
            conn.close()
            raise APIError(resp.status, error_message(resp.status, body))
        return resp

    def request(self, method: str, path: str, params: Params = None, body: Any = None,
                headers: Mapping[str, str] | None = None) -> http.client.HTTPResponse:
        conn, _ = self.send(method, path, params, body, headers)
        return self.receive(conn)

    def json(self, method: str, path: str, params: Params = None, body: Any = None) -> Any:
        resp = self.request(method, path, params, body)
        data = resp.read()
        resp.close()
        if not data.strip():
            return None
        return json.loads(data)

    def get(self, path: str, params: Params = None) -> Any:
        return self.json("GET", path, params)

    def post(self, path: str, params: Params = None, body: Any = None) -> Any:
        return self.json("POST", path, params, body)

    def delete(self, path: str, params: Params = None) -> Any:
        return self.json("DELETE", path, params)


def iter_json_stream(resp: BinaryIO | http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """Decode a stream of JSON objects, newline-separated or back to back."""
    decoder = json.JSONDecoder()
    buf = ""
    raw = b""
    while True:
        chunk = resp.read1(BLOCK) if hasattr(resp, "read1") else resp.read(BLOCK)
        if not chunk:
            break
        raw += chunk
        try:
            buf += raw.decode()
            raw = b""
        except UnicodeDecodeError:
            continue
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                obj, end = decoder.raw_decode(buf)
            except ValueError:
                break
            buf = buf[end:]
            yield obj
    buf = buf.strip()
    if buf:
        yield json.loads(buf)


def copy_stream(src: http.client.HTTPResponse | BinaryIO, dst: BinaryIO) -> int:
    """Copy a response body to a binary file without buffering it whole."""
    total = 0
    while True:
        chunk = src.read1(BLOCK) if hasattr(src, "read1") else src.read(BLOCK)
        if not chunk:
            return total
        dst.write(chunk)
        total += len(chunk)


def filters_param(pairs: Iterable[str]) -> str | None:
    """--filter k=v ... as the API's JSON map of lists."""
    result: dict[str, list[str]] = {}
    for pair in pairs:
        if "=" not in pair:
            raise CLIError(f"bad format of filter (expected name=value)")
        key, value = pair.split("=", 1)
        result.setdefault(key.strip().lower(), []).append(value)
    return json.dumps(result) if result else None
