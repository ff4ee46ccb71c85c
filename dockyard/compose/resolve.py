"""The last loading step: env_file and environment values, defaults, resource names, profiles, dependency checks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.compose import envfile
from dockyard.compose.errors import ComposeError
from dockyard.compose.model import Project, Service


def _environment(svc: Service, env: dict[str, str]) -> dict[str, str]:
    values: dict[str, Any] = {}
    for entry in svc.pop("env_file", []):
        values.update(envfile.read(Path(entry["path"]), env, required=entry.get("required", True)))
    values.update(svc.get("environment", {}))
    out = {}
    for key, value in values.items():
        if value is None:  # `environment: [FOO]`: from the shell, or left out
            if key in env:
                out[key] = env[key]
        else:
            out[key] = value
    return out


def _named(section: dict[str, Any], project: str, kind: str) -> dict[str, dict[str, Any]]:
    out = {}
    for key, spec in section.items():
        spec = dict(spec or {})
        ext = spec.get("external")
        if isinstance(ext, dict):  # the legacy `external: {name: x}`
            spec["name"] = ext.get("name", spec.get("name"))
            spec["external"] = True
        if kind in ("secrets", "configs"):
            spec.setdefault("name", f"{project}_{key}")
        elif spec.get("external"):
            spec.setdefault("name", key)
        else:
            spec.setdefault("name", f"{project}_{key}")
        out[key] = spec
    return out


def _active(svc: Service, profiles: list[str]) -> bool:
    wanted = svc.get("profiles") or []
    return not wanted or "*" in profiles or any(p in profiles for p in wanted)


def _check_dependencies(services: dict[str, Service], disabled: dict[str, Service]) -> None:
    for name, svc in services.items():
        for dep, spec in list(svc.get("depends_on", {}).items()):
            if dep in services:
                continue
            if dep in disabled and not spec.get("required", True):
                del svc["depends_on"][dep]
                continue
            if dep in disabled:
                raise ComposeError(f"service {dep!r} is required by {name!r} but is disabled "
                                   f"(profiles {disabled[dep].get('profiles')})")
            if not spec.get("required", True):
                del svc["depends_on"][dep]
                continue
            raise ComposeError(f"service {name!r} depends on undefined service {dep!r}: invalid compose project")
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name):] + [name]
            raise ComposeError(f"dependency cycle detected: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in services[name].get("depends_on", {}):
            visit(dep, [*path, name])
        state[name] = 2

    for name in sorted(services):
        visit(name, [])


def _check_references(project: Project) -> None:
    for name, svc in project.services.items():
        for net in svc.get("networks", {}):
            if net not in project.networks:
                raise ComposeError(f"service {name!r} refers to undefined network {net}: invalid compose project")
        for vol in svc.get("volumes", []):
            if vol["type"] == "volume" and vol.get("source") and vol["source"] not in project.volumes:
                raise ComposeError(f"service {name!r} refers to undefined volume {vol['source']}: "
                                   "invalid compose project")
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind, []):
                if ref["source"] not in getattr(project, kind):
                    raise ComposeError(f"service {name!r} refers to undefined {kind[:-1]} {ref['source']}: "
                                       "invalid compose project")
        if "image" not in svc and "build" not in svc:
            raise ComposeError(f"service {name!r} has neither an image nor a build context specified: "
                               "invalid compose project")


def finish(merged: dict[str, Any], *, name: str, workdir: str, files: list[str], env: dict[str, str],
           env_files: list[str], profiles: list[str]) -> Project:
    services: dict[str, Service] = merged.get("services") or {}
    active = {n: s for n, s in services.items() if _active(s, profiles)}
    disabled = {n: s for n, s in services.items() if n not in active}
    networks = dict(merged.get("networks") or {})
    for svc in active.values():
        svc["environment"] = _environment(svc, env)
        if "network_mode" not in svc and not svc.get("networks"):
            svc["networks"] = {"default": None}
        scale = (svc.get("deploy") or {}).get("replicas", svc.get("scale", 1))
        svc["scale"] = int(scale if scale is not None else 1)
        if any("default" in (s.get("networks") or {}) for s in active.values()):
            networks.setdefault("default", None)
    project = Project(
        name=name, working_dir=workdir, config_files=files, services=active, disabled=disabled,
        networks=_named(networks, name, "networks"), volumes=_named(merged.get("volumes") or {}, name, "volumes"),
        secrets=_named(merged.get("secrets") or {}, name, "secrets"),
        configs=_named(merged.get("configs") or {}, name, "configs"),
        environment=env, env_files=env_files, profiles=profiles,
        extensions={k: v for k, v in merged.items() if k.startswith("x-")})
    _check_dependencies(active, disabled)
    _check_references(project)
    return project
