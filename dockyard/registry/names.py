"""Validation of what appears in registry URLs: repository names, tags, digests (the spec's grammar)."""
from __future__ import annotations

import hashlib
import re

from .errors import RegistryError

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
# algorithm -> hex length; only algorithms hashlib can verify are accepted
ALGORITHMS = {"sha256": 64, "sha512": 128}
DIGEST_RE = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
MAX_NAME = 255


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise RegistryError("NAME_INVALID", detail={"name": name})
    return name


def is_tag(reference: str) -> bool:
    return TAG_RE.fullmatch(reference) is not None


def check_tag(tag: str) -> str:
    if not is_tag(tag):
        raise RegistryError("TAG_INVALID", "invalid tag", detail={"tag": tag})
    return tag


def parse_digest(digest: str, code: str = "DIGEST_INVALID") -> tuple[str, str]:
    """'sha256:<hex>' -> ('sha256', '<hex>'), or the spec's error for anything else."""
    m = DIGEST_RE.fullmatch(digest)
    if not m or m.group(1) not in ALGORITHMS or len(m.group(2)) != ALGORITHMS[m.group(1)] \
            or not re.fullmatch(r"[a-f0-9]+", m.group(2)):
        raise RegistryError(code, "invalid digest", detail={"digest": digest})
    return m.group(1), m.group(2)


def is_digest(reference: str) -> bool:
    try:
        parse_digest(reference)
    except RegistryError:
        return False
    return True


def hasher(digest: str) -> "hashlib._Hash":
    algorithm, _ = parse_digest(digest)
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
