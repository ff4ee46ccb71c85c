"""Image references as the docker CLI handles them: normalise, split name/tag/digest, familiar form."""
from __future__ import annotations

import re

from dockyard.cli.client import CLIError

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_PREFIX = "library/"
_REF_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
                     r"(?::\d+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_DOMAIN_RE = re.compile(r"^(?:localhost|[^/]*[.:][^/]*)$")


def split(ref: str) -> tuple[str, str, str]:
    """(name, tag, digest) of a reference as typed; tag and digest may be empty."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, tag = ref, ""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        name, tag = ref[:colon], ref[colon + 1:]
    return name, tag, digest


def normalize_name(name: str) -> str:
    """ParseNormalizedNamed's name: busybox -> docker.io/library/busybox."""
    first, _, rest = name.partition("/")
    if not rest or not _DOMAIN_RE.match(first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return f"{domain}/{path}"


def validate(ref: str) -> None:
    name, tag, digest = split(ref)
    if not name or not _REF_RE.match(name.lower()):
        raise CLIError("invalid reference format")
    if name != name.lower():
        path = normalize_name(name).split("/", 1)[1]
        raise CLIError(f"invalid reference format: repository name ({path}) must be lowercase")
    if tag and not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
        raise CLIError("invalid reference format")
    if digest and not re.fullmatch(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}", digest):
        raise CLIError("invalid reference format")


def familiar_name(name: str) -> str:
    """docker.io/library/busybox -> busybox; docker.io/me/x -> me/x."""
    if name.startswith(DEFAULT_DOMAIN + "/"):
        name = name[len(DEFAULT_DOMAIN) + 1:]
        if name.startswith(OFFICIAL_PREFIX) and name.count("/") == 1:
            name = name[len(OFFICIAL_PREFIX):]
    return name


def tagged(ref: str) -> tuple[str, str]:
    """(normalised name, tag) with `latest` when no tag or digest is given; the tag is the digest otherwise."""
    validate(ref)
    name, tag, digest = split(ref)
    return normalize_name(name), digest or tag or "latest"


def familiar_tagged(ref: str) -> str:
    """What `Unable to find image '...' locally` shows: busybox:latest."""
    name, tag, digest = split(ref)
    if digest:
        return f"{familiar_name(normalize_name(name))}@{digest}"
    return f"{familiar_name(normalize_name(name))}:{tag or 'latest'}"
