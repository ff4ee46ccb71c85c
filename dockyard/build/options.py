"""The build's options, from POST /build's query and headers, validated as Docker 20.10 does."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import InvalidParameter
from ..images.config import parse_platform
from ..images.reference import Reference, parse_normalized
from .run import HostOptions


@dataclass
class BuildOptions:
    tags: list[Reference] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    rm: bool = True
    force_rm: bool = False
    quiet: bool = False
    cache_from: list[str] = field(default_factory=list)
    host: HostOptions = field(default_factory=HostOptions)
    platform: str = ""
    registry_auth: dict[str, Any] = field(default_factory=dict)


def _json_map(raw: Any, name: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameter(f"invalid {name}: a JSON object is expected")
    return {str(k): ("" if v is None else str(v)) for k, v in raw.items()}


def from_request(arg: Callable[[str], str | None], args: Callable[[str], list[str]],
                 flag: Callable[[str, bool], bool], json_arg: Callable[[str], Any],
                 headers: dict[str, str]) -> BuildOptions:
    if flag("squash", False):
        raise InvalidParameter("squash is only supported with experimental mode")
    isolation = arg("isolation") or ""
    if isolation not in ("", "default"):
        raise InvalidParameter(f'Unsupported isolation: "{isolation}"')
    platform = arg("platform") or ""
    if platform:
        parse_platform(platform)
    tags = []
    for t in args("t"):
        if not t:
            continue
        try:
            ref = parse_normalized(t)
        except InvalidParameter:
            raise InvalidParameter(f"invalid reference format: repository name must be lowercase"
                                   if t.lower() != t else f"invalid reference format") from None
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        tags.append(ref.with_default_tag())
    shm = arg("shmsize") or "0"
    try:
        shm_size = int(shm)
    except ValueError:
        raise InvalidParameter(f"invalid shmsize: {shm}") from None
    if shm_size < 0:
        raise InvalidParameter("ShmSize must be greater than 0")
    cache_from = json_arg("cachefrom") or []
    if not isinstance(cache_from, list):
        raise InvalidParameter("invalid cachefrom: a JSON list is expected")
    hosts = [h for value in args("extrahosts") for h in value.split(",") if h]
    for h in hosts:
        if ":" not in h:
            raise InvalidParameter(f"invalid IP address in add-host: \"{h}\"")
    return BuildOptions(
        tags=tags, dockerfile=arg("dockerfile") or "Dockerfile",
        build_args=_json_map(json_arg("buildargs"), "buildargs"),
        labels=_json_map(json_arg("labels"), "labels"), target=arg("target") or "",
        no_cache=flag("nocache", False), pull=flag("pull", False), rm=flag("rm", True),
        force_rm=flag("forcerm", False), quiet=flag("q", False),
        cache_from=[str(c) for c in cache_from],
        host=HostOptions(arg("networkmode") or "", hosts or None, shm_size), platform=platform,
        registry_auth=_registry_config(headers.get("x-registry-config")))


def _registry_config(value: str | None) -> dict[str, Any]:
    """X-Registry-Config: base64url JSON, registry -> AuthConfig (credentials for FROM pulls)."""
    if not value:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}
