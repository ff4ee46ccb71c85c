"""`GET /images/search`: the registry v1 search API, as Docker's client speaks it.

A term names its index the way a reference names its registry: `127.0.0.1:5000/busy` searches
the registry at 127.0.0.1:5000 for `busy`; a bare term searches docker.io's index (the daemon's
hub-host when one is configured). Each endpoint is tried in the order pulls use (https, then
http for an insecure registry); results are filtered by stars/is-official/is-automated.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from .. import errors
from .hosts import DOCKER_HUB, DOCKER_HUB_HOST, RegistryConfig
from .transport import Transport

DEFAULT_LIMIT = 25
HUB_INDEX = "index.docker.io"
_FILTERS = ("stars", "is-official", "is-automated")


def split_term(term: str) -> tuple[str, str]:
    """(index domain, query): the first path component is a registry if it looks like a host."""
    head, sep, rest = term.partition("/")
    if sep and ("." in head or ":" in head or head == "localhost") and rest:
        return head, rest
    return DOCKER_HUB, term


def check_limit(limit: int) -> None:
    if not 1 <= limit <= 100:
        raise errors.InvalidParameter(f"Limit {limit} is outside the range of [1, 100]")


def _bool_filter(filters: dict[str, list[str]], key: str) -> bool | None:
    values = filters.get(key) or []
    if not values:
        return None
    value = values[-1].lower()
    if value not in ("true", "false", "1", "0"):
        raise errors.InvalidParameter(f"invalid filter '{key}={values[-1]}'")
    return value in ("true", "1")


def _stars(filters: dict[str, list[str]]) -> int:
    best = 0
    for value in filters.get("stars") or []:
        if not value.isdigit():
            raise errors.InvalidParameter(f"invalid filter 'stars={value}'")
        best = max(best, int(value))
    return best


def check_filters(filters: dict[str, list[str]]) -> None:
    for key in filters:
        if key not in _FILTERS:
            raise errors.InvalidParameter(f"invalid filter '{key}'")
    _stars(filters)
    _bool_filter(filters, "is-official")
    _bool_filter(filters, "is-automated")


def _matches(result: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    if int(result.get("star_count") or 0) < _stars(filters):
        return False
    for key, field in (("is-official", "is_official"), ("is-automated", "is_automated")):
        want = _bool_filter(filters, key)
        if want is not None and bool(result.get(field)) != want:
            return False
    return True


class Search:
    def __init__(self, config: RegistryConfig, transport: Transport) -> None:
        self.config = config
        self.transport = transport

    def _index_host(self, domain: str) -> str:
        if domain != DOCKER_HUB:
            return domain
        return HUB_INDEX if self.config.hub_host == DOCKER_HUB_HOST else self.config.hub_host

    def search(self, term: str, limit: int, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        check_limit(limit)
        check_filters(filters)
        domain, query = split_term(term)
        host = self._index_host(domain)
        path = "/v1/search?" + urlencode({"q": query, "n": limit})
        last: errors.DockyardError | None = None
        for endpoint in self.config.endpoints(host):
            try:
                with self.transport.open("GET", f"{endpoint.scheme}://{host}{path}", {"Accept": "application/json"},
                                         verify=endpoint.verify) as resp:
                    body = resp.read()
                    status = resp.status
            except errors.SystemFailure as e:
                last = e
                continue
            if status != 200:
                last = errors.SystemFailure(f"Unexpected status code {status}")
                continue
            try:
                results = json.loads(body).get("results") or []
            except (ValueError, AttributeError):
                raise errors.SystemFailure(f"invalid search response from {host}") from None
            return [_render(r) for r in results if isinstance(r, dict) and _matches(r, filters)][:limit]
        assert last is not None
        raise last


def _render(r: dict[str, Any]) -> dict[str, Any]:
    """The fields of the spec's search result, whatever else the index sent."""
    return {"description": str(r.get("description") or ""), "is_official": bool(r.get("is_official")),
            "is_automated": bool(r.get("is_automated")), "name": str(r.get("name") or ""),
            "star_count": int(r.get("star_count") or 0)}
