"""Answers the spec does not document for an operation, each with the reason it is right.

Keys are (method, spec path template, status). Most entries are 400s: Docker answers 400 with a
message to an invalid parameter on every route (its errdefs.InvalidParameter), while the spec
lists 400 only on some operations; `scripts/fuzz --dockerd` runs the same requests against a
scratch dockerd 20.10, which answered 400 on each of these too (or a 500 where we answer 400).
"""
from __future__ import annotations

INVALID = "invalid parameter -> 400 with a message, as dockerd 20.10 answers (or 500 where it fails worse)"
BAD_FILTERS = "malformed `filters` JSON -> 400 (dockerd 20.10 answers 500 'invalid character ...')"
BAD_REFERENCE = "invalid reference format -> 400, as dockerd 20.10 (errdefs.InvalidParameter)"
BAD_BODY = "a body that is not the documented JSON object -> 400, as dockerd 20.10"

ALLOWED: dict[tuple[str, str, int], str] = {
    ("POST", "/containers/{id}/stop", 400): "`t` that is not an integer -> 400 (dockerd 20.10: 500 strconv.Atoi)",
    ("POST", "/containers/{id}/restart", 400): "`t` that is not an integer -> 400 (dockerd 20.10: 500 strconv.Atoi)",
    ("POST", "/containers/{id}/kill", 400): "unknown signal -> 400 'Invalid signal', as dockerd 20.10",
    ("POST", "/containers/{id}/rename", 400): "empty or invalid new name -> 400, as dockerd 20.10",
    ("POST", "/containers/{id}/resize", 400): "`h`/`w` that are not integers -> 400, as dockerd 20.10",
    ("POST", "/containers/{id}/exec", 400): "no Cmd / bad body -> 400 'No exec command specified', as dockerd 20.10",
    ("GET", "/containers/{id}/logs", 400): "neither stdout nor stdout chosen -> 400, as dockerd 20.10",
    ("POST", "/containers/prune", 400): BAD_FILTERS,
    ("POST", "/exec/{id}/start", 400): BAD_BODY,
    ("POST", "/commit", 400): BAD_BODY,
    ("POST", "/auth", 400): BAD_BODY,
    ("POST", "/images/load", 400): "a body that is not an image archive -> 400, as dockerd 20.10",
    ("POST", "/plugins/create", 404): "the /plugins API is not served yet (issue 15)",
    ("GET", "/images/{name}/json", 400): BAD_REFERENCE,
    ("GET", "/images/{name}/history", 400): BAD_REFERENCE,
    ("DELETE", "/images/{name}", 400): BAD_REFERENCE,
    ("POST", "/images/{name}/push", 400): BAD_REFERENCE,
    ("POST", "/images/{name}/tag", 400): BAD_REFERENCE,
    ("POST", "/images/create", 400): "neither fromImage nor fromSrc, or a bad reference -> 400 (dockerd 20.10: 500)",
    ("GET", "/images/get", 400): "no or invalid names -> 400 (dockerd 20.10: 500 'invalid reference format')",
    ("GET", "/images/{name}/get", 404): "no such image -> 404 'No such image', as dockerd 20.10",
    ("GET", "/images/{name}/get", 400): BAD_REFERENCE,
    ("GET", "/images/get", 404): "no such image -> 404 'No such image', as dockerd 20.10",
    ("GET", "/distribution/{name}/json", 400): BAD_REFERENCE,
    ("POST", "/volumes/create", 404): "unknown volume driver -> 404 'plugin not found', as dockerd 20.10",
    ("GET", "/images/search", 400): "bad limit or filters -> 400, as dockerd 20.10",
    ("POST", "/images/prune", 400): BAD_FILTERS,
    ("GET", "/images/json", 400): BAD_FILTERS,
    ("POST", "/build/prune", 400): BAD_FILTERS,
    ("GET", "/networks", 400): BAD_FILTERS,
    ("GET", "/networks/{id}", 400): "`verbose`/`scope` of the wrong type -> 400, as dockerd 20.10",
    ("POST", "/networks/prune", 400): BAD_FILTERS,
    ("POST", "/networks/{id}/connect", 400): "no or non-string Container -> 400, as dockerd 20.10",
    ("POST", "/networks/{id}/disconnect", 400): "no or non-string Container -> 400, as dockerd 20.10",
    ("GET", "/volumes", 400): BAD_FILTERS,
    ("POST", "/volumes/prune", 400): BAD_FILTERS,
    ("POST", "/volumes/create", 400): BAD_BODY,
    ("POST", "/session", 404): "BuildKit's session endpoint: Dockyard has the classic builder only (docs/builder.md)",
    ("GET", "/plugins", 404): "the /plugins API is not served yet (issue 15)",
    ("GET", "/plugins/privileges", 404): "the /plugins API is not served yet (issue 15)",
    ("POST", "/plugins/pull", 404): "the /plugins API is not served yet (issue 15)",
}

# 500s that are right: the failure is the server's, not the request's. Tests point docker.io at
# a refused loopback port, so anything that must reach the registry fails as dockerd's does.
UNREACHABLE = ("connection refused", "network is unreachable", "no such host", "name resolution",
               "Name or service not known", "Cannot assign requested address")
SERVER_SIDE: dict[tuple[str, str], str] = {
    ("POST", "/auth"): "registry unreachable -> 500, as dockerd 20.10",
    ("GET", "/distribution/{name}/json"): "registry unreachable -> 500, as dockerd 20.10",
    ("GET", "/images/search"): "index unreachable -> 500, as dockerd 20.10",
    ("POST", "/images/create"): "pull or import source unreachable -> 500, as dockerd 20.10",
}


def allowed(method: str, path: str, status: int, message: str | None) -> bool:
    if (method, path, status) in ALLOWED:
        return True
    return status == 500 and (method, path) in SERVER_SIDE and any(u in (message or "") for u in UNREACHABLE)
