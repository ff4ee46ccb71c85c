"""The loaded project: services, networks, volumes, secrets, configs, and the names Compose gives them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Service = dict[str, Any]

# labels Compose v2 puts on what it creates
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"
NUMBER = "com.docker.compose.container-number"
ONEOFF = "com.docker.compose.oneoff"
CONFIG_HASH = "com.docker.compose.config-hash"
WORKING_DIR = "com.docker.compose.project.working_dir"
CONFIG_FILES = "com.docker.compose.project.config_files"
ENV_FILE = "com.docker.compose.project.environment_file"
VERSION = "com.docker.compose.version"
DEPENDS_ON = "com.docker.compose.depends_on"
IMAGE = "com.docker.compose.image"
NETWORK = "com.docker.compose.network"
VOLUME = "com.docker.compose.volume"
COMPOSE_VERSION = "2.20.0"


@dataclass
class Project:
    name: str
    working_dir: str
    config_files: list[str]
    services: dict[str, Service]
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: dict[str, Service] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def service(self, name: str) -> Service:
        from dockyard.compose.errors import ComposeError

        if name in self.services:
            return self.services[name]
        if name in self.disabled:
            raise ComposeError(f"service {name!r} is disabled (profiles {self.disabled[name].get('profiles')})")
        raise ComposeError(f"no such service: {name}")

    def network_name(self, key: str) -> str:
        return str(self.networks[key]["name"])

    def volume_name(self, key: str) -> str:
        return str(self.volumes[key]["name"])

    def all_profiles(self) -> list[str]:
        found = {p for s in [*self.services.values(), *self.disabled.values()] for p in s.get("profiles", [])}
        return sorted(found)

    def order(self, names: list[str] | None = None) -> list[str]:
        """Service names in start order (dependencies first), limited to `names` and what they need."""
        wanted = list(self.services) if names is None else names
        seen: list[str] = []

        def visit(name: str) -> None:
            if name in seen or name not in self.services:
                return
            for dep in sorted(self.services[name].get("depends_on", {})):
                visit(dep)
            seen.append(name)

        for name in sorted(wanted):
            visit(name)
        return seen

    def dependents(self, name: str) -> list[str]:
        """Services that depend on `name`, directly or not."""
        out: list[str] = []
        for other in self.order():
            deps = self.services[other].get("depends_on", {})
            if name in deps or any(d in out for d in deps):
                out.append(other)
        return out
