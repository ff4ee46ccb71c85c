"""The Engine API as compose uses it: any client with get/post/delete/request (the dockyard CLI's, or another)."""
from __future__ import annotations

import json
import urllib.parse
from typing import Any, Iterator, Mapping, Protocol

from dockyard.compose import model as labels
from dockyard.compose.errors import ComposeError


class Client(Protocol):
    """What compose needs of an Engine API client; errors carry `status_code` and `explanation`."""

    def get(self, path: str, params: Any = None) -> Any: ...
    def post(self, path: str, params: Any = None, body: Any = None) -> Any: ...
    def delete(self, path: str, params: Any = None) -> Any: ...
    def request(self, method: str, path: str, params: Any = None, body: Any = None,
                headers: Mapping[str, str] | None = None) -> Any: ...


class Api:
    """Compose's view of the engine: containers of a project, lookups that answer None for 404."""

    def __init__(self, client: Client, error: type[Exception]) -> None:
        self.client = client
        self.error = error

    def status(self, exc: Exception) -> int | None:
        return getattr(exc, "status_code", None)

    def message(self, exc: Exception) -> str:
        return str(getattr(exc, "explanation", None) or exc)

    def call(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        """A request whose API error becomes a ComposeError with the daemon's message."""
        try:
            if method == "GET":
                return self.client.get(path, params)
            if method == "DELETE":
                return self.client.delete(path, params)
            return self.client.post(path, params, body)
        except self.error as exc:
            raise ComposeError(f"Error response from daemon: {self.message(exc)}") from None

    def find(self, path: str) -> Any:
        """GET path, or None when the daemon answers 404."""
        try:
            return self.client.get(path)
        except self.error as exc:
            if self.status(exc) == 404:
                return None
            raise ComposeError(f"Error response from daemon: {self.message(exc)}") from None

    def quietly(self, method: str, path: str, params: Any = None) -> None:
        """A request whose 404/304/409 is fine (already gone, already stopped)."""
        try:
            self.call(method, path, params)
        except ComposeError as exc:
            if not any(s in exc.message for s in ("No such", "not running", "is not paused", "already")):
                raise

    def containers(self, project: str, service: str | None = None, oneoff: bool | None = False,
                   all_: bool = True) -> list[dict[str, Any]]:
        """The project's containers (GET /containers/json by label), sorted by service and number."""
        wanted = [f"{labels.PROJECT}={project}"]
        if service:
            wanted.append(f"{labels.SERVICE}={service}")
        if oneoff is not None:
            wanted.append(f"{labels.ONEOFF}={'True' if oneoff else 'False'}")
        found = self.call("GET", "/containers/json", {"all": int(all_), "filters": json.dumps({"label": wanted})})
        return sorted(found or [], key=sort_key)

    def stream_json(self, method: str, path: str, params: Any = None, body: Any = None,
                    headers: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """A JSON-lines response (pull, push, build, events), object by object."""
        try:
            resp = self.client.request(method, path, params, body, headers)
        except self.error as exc:
            raise ComposeError(f"Error response from daemon: {self.message(exc)}") from None
        decoder = json.JSONDecoder()
        buf = ""
        try:
            while True:
                chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                if not chunk:
                    break
                buf += chunk.decode("utf-8", "replace")
                while True:
                    buf = buf.lstrip()
                    try:
                        obj, end = decoder.raw_decode(buf)
                    except ValueError:
                        break
                    buf = buf[end:]
                    yield obj
        finally:
            resp.close()


def sort_key(c: dict[str, Any]) -> tuple[str, int, str]:
    lbl = c.get("Labels") or {}
    try:
        number = int(lbl.get(labels.NUMBER, "0"))
    except ValueError:
        number = 0
    return (lbl.get(labels.SERVICE, ""), number, name_of(c))


def name_of(c: dict[str, Any]) -> str:
    """A container's name from list (Names) or inspect (Name), without the leading slash."""
    names = c.get("Names") or [c.get("Name", "")]
    return str(names[0]).lstrip("/")


def number_of(c: dict[str, Any]) -> int:
    return sort_key(c)[1]


def ref_path(name: str) -> str:
    """A name or image reference as a path segment: escaped, but `/`, `:` and `@` kept as clients send them."""
    return urllib.parse.quote(name, safe="/:@")
