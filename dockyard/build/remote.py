"""What a build fetches from outside the context: ADD <url> downloads and registry credentials for FROM."""
from __future__ import annotations

import email.utils
import os
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..distribution.auth import Credentials
from ..distribution.service import registry_domain
from ..images.reference import parse_normalized
from .copy import Item
from .metadata import StepError

_CHUNK = 1 << 20
MAX_DOWNLOAD = 1 << 30


def is_url(src: str) -> bool:
    return src.startswith("http://") or src.startswith("https://")


def download(url: str, into: str) -> Item:
    """Fetch `url` into the dir `into`; mode 0600 and the Last-Modified time, as Docker's ADD does."""
    name = posixpath.basename(urllib.parse.urlsplit(url).path) or "__unnamed__"
    name = name if name not in (".", "..") else "__unnamed__"
    path = os.path.join(into, name)
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(path, "wb") as out:
            size = 0
            while chunk := resp.read(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise StepError(f"ADD failed: {url} is larger than {MAX_DOWNLOAD} bytes")
                out.write(chunk)
            modified = resp.headers.get("Last-Modified")
    except urllib.error.HTTPError as e:
        raise StepError(f"failed to GET {url} with status {e.code}: {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise StepError(f"failed to GET {url}: {getattr(e, 'reason', e)}") from None
    os.chmod(path, 0o600)
    if modified:
        try:
            ts = email.utils.parsedate_to_datetime(modified).timestamp()
            os.utime(path, (ts, ts))
        except (TypeError, ValueError):
            pass
    return Item(path, name, False, archive_ok=False)


def credentials_for(name: str, registry_auth: dict[str, Any]) -> Credentials:
    """The X-Registry-Config entry for the registry of image `name` (anonymous if none)."""
    if not registry_auth:
        return Credentials()
    try:
        domain = parse_normalized(name).domain
    except Exception:  # a bad name fails in the pull itself, with its own message
        return Credentials()
    for server, auth in registry_auth.items():
        if registry_domain(server) == domain:
            return Credentials.from_json(auth)
    return Credentials()
