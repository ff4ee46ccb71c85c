"""Access control of the registry: what a request needs (`Access`) and who decides (`Authorizer`).

Implementations: `Anonymous` (everything allowed), `htpasswd.BasicAuth` (bcrypt users, all access
once authenticated) and `token.TokenAuth` (bearer tokens from the built-in token server, scoped
per repository and action).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..server import Request


@dataclass(frozen=True)
class Access:
    type: str      # "repository" or "registry"
    name: str      # repository name, or "catalog"
    action: str    # "pull", "push", "delete", "*"

    def scope(self) -> str:
        return f"{self.type}:{self.name}:{self.action}"


def scope_string(access: list[Access]) -> str:
    """'repository:a:pull,push registry:catalog:*' with actions of one resource merged."""
    merged: dict[tuple[str, str], list[str]] = {}
    for a in access:
        actions = merged.setdefault((a.type, a.name), [])
        if a.action not in actions:
            actions.append(a.action)
    return " ".join(f"{t}:{n}:{','.join(acts)}" for (t, n), acts in merged.items())


class Authorizer(Protocol):
    async def authorize(self, request: Request, access: list[Access]) -> str | None:
        """The authenticated account ('' for anonymous) or RegistryError UNAUTHORIZED / DENIED."""


class Anonymous:
    async def authorize(self, request: Request, access: list[Access]) -> str | None:
        return ""
