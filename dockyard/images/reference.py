"""Image references: parse, normalise (docker.io/library/...) and print in familiar form, like Docker."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

# The grammar of github.com/distribution/reference (the one Docker 20.10 uses).
_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]*)"
_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_REMAINDER_RE = re.compile(rf"^({_PATH})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_ID_RE = re.compile(r"^[a-f0-9]{64}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A normalised named reference: domain/path[:tag][@digest]."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and path.count("/") == 1:
            path = path[len(OFFICIAL_PREFIX):]
        return path

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        """`busybox:latest`, `myhost:5000/a/b:tag`, as Docker prints references."""
        return self.familiar_name + self._suffix()

    def with_default_tag(self) -> "Reference":
        """Add `:latest` when neither a tag nor a digest is given (Docker's TagNameOnly)."""
        return replace(self, tag=DEFAULT_TAG) if self.tag is None and self.digest is None else self

    def with_tag(self, tag: str) -> "Reference":
        check_tag(tag)
        return replace(self, tag=tag, digest=None)

    @property
    def name_only(self) -> bool:
        return self.tag is None and self.digest is None


def check_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise InvalidParameter("invalid tag format")
    return tag


def _split_domain(s: str) -> tuple[str, str]:
    i = s.find("/")
    if i == -1 or ("." not in s[:i] and ":" not in s[:i] and s[:i] != "localhost"):
        domain, rest = DEFAULT_DOMAIN, s
    else:
        domain, rest = s[:i], s[i + 1:]
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in rest:
        rest = OFFICIAL_PREFIX + rest
    return domain, rest


def parse_normalized(s: str) -> Reference:
    """Docker's ParseNormalizedNamed: `busybox` -> docker.io/library/busybox (no default tag)."""
    if _ID_RE.match(s):
        raise InvalidParameter(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, rest = _split_domain(s)
    remote = rest.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidParameter("invalid reference format: repository name must be lowercase")
    m = _REMAINDER_RE.match(rest)
    if not s or not m or not _DOMAIN_RE.match(domain):
        raise InvalidParameter("invalid reference format")
    path, tag, digest = m.group(1), m.group(2), m.group(3)
    if len(domain) + 1 + len(path) > NAME_TOTAL_MAX:
        raise InvalidParameter(f"repository name must not be more than {NAME_TOTAL_MAX} characters")
    if digest is not None and not _SHA256_RE.match(digest):
        raise InvalidParameter("invalid reference format: unsupported digest algorithm"
                               if not digest.startswith("sha256:") else "invalid checksum digest format")
    return Reference(domain, path, tag, digest)


def parse_any(s: str) -> Reference | str:
    """Docker's ParseAnyReference: a full ID (bare or `sha256:`) gives the ID string, else a Reference."""
    if _ID_RE.match(s):
        return "sha256:" + s
    if _SHA256_RE.match(s):
        return s
    return parse_normalized(s)


def familiar(s: str) -> str:
    """Familiar form of a stored normalised reference string."""
    return parse_normalized(s).familiar()


def short_id(image_id: str) -> str:
    """Docker's TruncateID: 12 hex digits without the algorithm."""
    return image_id.split(":", 1)[-1][:12]
