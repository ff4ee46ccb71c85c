"""HTTP to registries on http.client (blocking; callers run in worker threads): pooled connections,
auth retries, redirects, registry error bodies, and a blob reader that resumes a cut download."""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from typing import Any, BinaryIO, Callable, Iterable
from urllib.parse import urlencode, urljoin, urlsplit

from .. import errors
from .auth import Authorizer, Credentials, TokenCache
from .hosts import Endpoint, RegistryConfig

USER_AGENT = "docker/20.10.24 go/go1.19.7 (dockyard)"
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 1 << 20


class RegistryError(Exception):
    """The registry answered with an error status (the body's `errors` decoded)."""

    def __init__(self, method: str, url: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.method, self.url, self.status, self.headers = method, url, status, headers
        self.codes: list[str] = []
        parts: list[str] = []
        try:
            for e in json.loads(body).get("errors") or []:
                code = str(e.get("code") or "UNKNOWN")
                self.codes.append(code)
                parts.append(f"{code.lower().replace('_', ' ')}: {e.get('message') or ''}".rstrip(": "))
        except (ValueError, AttributeError):
            pass
        if not parts:
            text = body.decode("utf-8", "replace").strip()
            parts.append(_status_text(status) + (f": {text[:200]}" if text and not text.startswith("<") else ""))
        self.detail = "; ".join(parts)
        super().__init__(self.detail)

    @property
    def denied(self) -> bool:
        return self.status in (401, 403) or bool({"UNAUTHORIZED", "DENIED", "NAME_UNKNOWN"} & set(self.codes))


def _status_text(status: int) -> str:
    if status == 401:
        return "unauthorized: authentication required"
    if status == 403:
        return "denied: requested access to the resource is denied"
    return f"unexpected status code {status} {http.client.responses.get(status, '')}".rstrip()


def connection_error(method: str, url: str, exc: BaseException) -> errors.DockyardError:
    """Go's wording for a failed request: `Get "https://h/v2/": dial tcp h: connect: connection refused`."""
    verb = method.capitalize()
    host = urlsplit(url).netloc
    if isinstance(exc, socket.gaierror):
        why = f"dial tcp: lookup {urlsplit(url).hostname}: no such host"
    elif isinstance(exc, ConnectionRefusedError):
        why = f"dial tcp {host}: connect: connection refused"
    elif isinstance(exc, ssl.SSLError):
        why = f"tls: {exc.reason or exc}".lower() if getattr(exc, "reason", None) else f"tls: {exc}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            why = f"x509: {exc.verify_message or exc}"
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        why = f"dial tcp {host}: i/o timeout"
    elif isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
        why = "connection reset by peer" if isinstance(exc, ConnectionResetError) else "unexpected EOF"
    else:
        why = str(exc) or type(exc).__name__
    return errors.SystemFailure(f'{verb} "{url}": {why}')


class Response:
    """An open response; closing it returns the connection to the pool when it is reusable."""

    def __init__(self, pool: "Transport", key: tuple, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse, url: str) -> None:
        self._pool, self._key, self._conn, self.raw, self.url = pool, key, conn, resp, url
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}

    def read(self, n: int = -1) -> bytes:
        return self.raw.read(n if n >= 0 else None)

    def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None  # type: ignore[assignment]
        if self.raw.isclosed() and not self.raw.will_close:
            self._pool.release(self._key, conn)
        elif self.raw.length is not None and self.raw.length <= 65536 and not self.raw.will_close:
            try:
                self.raw.read()
                self._pool.release(self._key, conn)
            except (OSError, http.client.HTTPException):
                conn.close()
        else:
            conn.close()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport:
    """Pooled connections per (scheme, host, verify) and the shared bearer token cache."""

    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self.tokens = TokenCache()
        self._idle: dict[tuple, list[http.client.HTTPConnection]] = {}
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def _context(self, host: str, verify: bool) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get((host, verify))
            if ctx is None:
                ctx = self._contexts[(host, verify)] = self.config.tls_context(host, verify)
            return ctx

    def _connect(self, key: tuple) -> http.client.HTTPConnection:
        scheme, host, verify = key
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        if scheme == "https":
            return http.client.HTTPSConnection(host, timeout=CONNECT_TIMEOUT, blocksize=_CHUNK,
                                               context=self._context(host, verify))
        return http.client.HTTPConnection(host, timeout=CONNECT_TIMEOUT, blocksize=_CHUNK)

    def release(self, key: tuple, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < 8:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()

    def open(self, method: str, url: str, headers: dict[str, str], body: Any = None,
             verify: bool = True) -> Response:
        """One request, no redirects or auth; connection errors raise SystemFailure with Go's wording."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, verify)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"User-Agent": USER_AGENT, **headers}
        for attempt in (0, 1):
            conn = self._connect(key)
            reused = conn.sock is not None
            try:
                if conn.sock is None:
                    conn.connect()
                    assert conn.sock is not None
                    conn.sock.settimeout(READ_TIMEOUT)
                conn.request(method, target, body=body, headers=hdrs)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                # A pooled connection the server closed meanwhile: retry once on a fresh one.
                if reused and attempt == 0 and not isinstance(e, ssl.SSLError) and _rewind(body):
                    continue
                raise connection_error(method, url, e) from None
            return Response(self, key, conn, resp, url)
        raise AssertionError("unreachable")

    def session(self, endpoint: Endpoint, creds: Credentials) -> "Session":
        return Session(self, endpoint, creds)


def _rewind(body: Any) -> bool:
    if body is None or isinstance(body, (bytes, str)):
        return True
    if hasattr(body, "seek"):
        body.seek(0)
        return True
    return False


class Session:
    """Authenticated requests to one registry endpoint with one set of credentials."""

    def __init__(self, transport: Transport, endpoint: Endpoint, creds: Credentials) -> None:
        self.transport = transport
        self.endpoint = endpoint
        self.auth = Authorizer(creds, transport.tokens, self._fetch_token)

    def url(self, path: str) -> str:
        return path if "://" in path else self.endpoint.base + path

    def ping(self) -> None:
        """GET /v2/: checks the endpoint answers and learns its auth challenge."""
        with self.transport.open("GET", self.url("/v2/"), {}, verify=self.endpoint.verify) as resp:
            if resp.status == 401:
                self.auth.learn(resp.headers.get("www-authenticate", ""))
            elif resp.status != 200:
                raise RegistryError("GET", resp.url, resp.status, resp.read(), resp.headers)

    def request(self, method: str, path: str, scopes: Iterable[str], headers: dict[str, str] | None = None,
                body: Any = None, ok: tuple[int, ...] = (200,)) -> Response:
        """A request with auth (one retry after a new challenge) and redirects followed."""
        scopes = tuple(scopes)
        url = self.url(path)
        hdrs = dict(headers or {})
        same_host = True
        for _hop in range(6):
            h = dict(hdrs)
            if same_host:
                authz = self.auth.header(scopes)
                if authz:
                    h["Authorization"] = authz
            verify = self.endpoint.verify if same_host else not self.transport.config.is_insecure(urlsplit(url).netloc)
            resp = self.transport.open(method, url, h, body, verify)
            if resp.status == 401 and same_host and self.auth.learn(resp.headers.get("www-authenticate", "")):
                resp.close()
                _rewind(body)
                resp = self.transport.open(method, url, {**hdrs, **_auth(self.auth.header(scopes))}, body, verify)
            if resp.status in _REDIRECTS and "location" in resp.headers and method in ("GET", "HEAD"):
                resp.close()
                url = urljoin(url, resp.headers["location"])
                same_host = urlsplit(url).netloc == self.endpoint.host
                continue
            if resp.status not in ok:
                data = resp.read() if method != "HEAD" else b""
                resp.close()
                raise RegistryError(method, url, resp.status, data, resp.headers)
            return resp
        raise errors.SystemFailure(f'{method.capitalize()} "{url}": stopped after 5 redirects')

    def _fetch_token(self, realm: str, service: str, scopes: tuple[str, ...], creds: Credentials) -> tuple[str, int]:
        verify = not self.transport.config.is_insecure(urlsplit(realm).netloc) or urlsplit(realm).scheme == "http"
        if creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "service": service,
                    "client_id": "docker", "scope": " ".join(scopes)}
            resp = self.transport.open("POST", realm, {"Content-Type": "application/x-www-form-urlencoded"},
                                       urlencode(form).encode(), verify)
        else:
            query = [("service", service)] * bool(service) + [("scope", s) for s in scopes]
            if creds.username:
                query.append(("account", creds.username))
            sep = "&" if "?" in realm else "?"
            hdrs = {}
            if creds.username or creds.password:
                from .auth import basic_header
                hdrs["Authorization"] = basic_header(creds.username, creds.password)
            resp = self.transport.open("GET", realm + (sep + urlencode(query) if query else ""), hdrs, None, verify)
        with resp:
            data = resp.read()
            if resp.status != 200:
                err = RegistryError("GET", realm, resp.status, data, resp.headers)
                raise errors.Unauthorized(f"failed to authorize: {err.detail}") if resp.status in (401, 403) \
                    else errors.SystemFailure(f"failed to fetch anonymous token: {err.detail}")
        try:
            doc = json.loads(data)
            token = doc.get("token") or doc.get("access_token")
            expires = int(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            token = None
        if not token:
            raise errors.SystemFailure(f"the token server at {realm} answered without a token")
        return str(token), expires


def _auth(value: str | None) -> dict[str, str]:
    return {"Authorization": value} if value else {}


class BlobReader:
    """Reads one blob of known size; a cut or failed stream is resumed with a Range request.

    Bytes are never trusted here: the consumer hashes everything and checks the digest.
    """

    def __init__(self, session: Session, path: str, scopes: tuple[str, ...], size: int,
                 on_bytes: Callable[[int], None] | None = None, attempts: int = 5) -> None:
        self._session, self._path, self._scopes = session, path, scopes
        self.size = size
        self.offset = 0
        self._on_bytes = on_bytes
        self._attempts = attempts
        self._resp: Response | None = None
        self._open()

    def _open(self) -> None:
        hdrs = {"Range": f"bytes={self.offset}-"} if self.offset else {}
        resp = self._session.request("GET", self._path, self._scopes, hdrs, ok=(200, 206))
        if self.offset and resp.status == 200:
            skip = self.offset  # the server ignored Range: read up to where we were
            while skip:
                data = resp.read(min(skip, _CHUNK))
                if not data:
                    resp.close()
                    raise ConnectionError("unexpected EOF")
                skip -= len(data)
        self._resp = resp

    def read(self, n: int = -1) -> bytes:
        n = _CHUNK if n is None or n < 0 else n
        if self.offset >= self.size:
            return b""
        n = min(n, self.size - self.offset)
        failures = 0
        while True:
            try:
                if self._resp is None:
                    self._open()
                data = self._resp.read(n)  # type: ignore[union-attr]
                if not data:
                    raise ConnectionError("unexpected EOF")
            except (OSError, http.client.HTTPException, errors.SystemFailure, ConnectionError) as e:
                if self._resp is not None:
                    self._resp.close()
                    self._resp = None
                failures += 1
                if failures >= self._attempts:
                    url = self._session.url(self._path)
                    if isinstance(e, errors.DockyardError):
                        raise errors.SystemFailure(f"{e.message} (after {failures} attempts)") from None
                    raise errors.SystemFailure(
                        f'Get "{url}": {e} at byte {self.offset} of {self.size} (after {failures} attempts)') from None
                time.sleep(min(0.1 * 2 ** failures, 2.0))
                continue
            self.offset += len(data)
            if self._on_bytes is not None:
                self._on_bytes(len(data))
            return data

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
            self._resp = None
