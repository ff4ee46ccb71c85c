"""Loading a project: find the files, .env, interpolate, validate, include, extends, merge, profiles, defaults."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dockyard.compose import envfile, normalize, schema
from dockyard.compose.errors import ComposeError
from dockyard.compose.interpolate import interpolate
from dockyard.compose.merge import merge_files, merge_service
from dockyard.compose.model import Project

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml",
                  "docker-compose.override.yml", "docker-compose.override.yaml")
SECTIONS = ("services", "networks", "volumes", "secrets", "configs")


@dataclass
class Options:
    files: list[str] = field(default_factory=list)
    project_directory: str | None = None
    project_name: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: str = field(default_factory=os.getcwd)


def find_files(opts: Options) -> list[Path]:
    """-f files, else COMPOSE_FILE, else compose.yaml (and its override) here or in a parent directory."""
    cwd = Path(opts.cwd)
    given = opts.files or [f for f in opts.environ.get("COMPOSE_FILE", "").split(os.pathsep) if f]
    if given:
        return [p if p.is_absolute() else (cwd / p) for p in map(Path, given)]
    start = Path(opts.project_directory).resolve() if opts.project_directory else cwd
    for directory in [start, *start.parents]:
        for name in DEFAULT_FILES:
            if (directory / name).is_file():
                found = [directory / name]
                override = next((directory / o for o in OVERRIDE_FILES if (directory / o).is_file()), None)
                return found + ([override] if override else [])
    raise ComposeError("no configuration file provided: not found")


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ComposeError(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise ComposeError(f"read {path}: is a directory") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ComposeError(f"yaml: {path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComposeError(f"validating {path}: (root) must be a mapping")
    return data


def _environment(opts: Options, workdir: Path) -> tuple[dict[str, str], list[str]]:
    """The interpolation environment: the shell's over the .env file (or --env-file files)."""
    paths = [Path(opts.cwd, p) for p in opts.env_files] if opts.env_files else [workdir / ".env"]
    values: dict[str, str] = {}
    used: list[str] = []
    for path in paths:
        if not opts.env_files and not path.is_file():
            continue
        parsed = envfile.read(path, {**values, **opts.environ})
        values.update({k: v for k, v in parsed.items() if v is not None})
        used.append(str(path))
    return {**values, **opts.environ}, used


def project_name(opts: Options, env: Mapping[str, str], declared: str | None, workdir: Path) -> str:
    explicit = opts.project_name or env.get("COMPOSE_PROJECT_NAME") or declared
    raw = explicit or workdir.name
    name = raw.lower() if explicit else re.sub(r"[^a-z0-9_-]", "", raw.lower()).lstrip("_-")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name or ""):
        raise ComposeError(f"invalid project name {raw!r}: must consist only of lowercase alphanumeric "
                           "characters, hyphens, and underscores as well as start with a letter or number")
    return name


class _FileLoader:
    """Loads files with one environment; `include` and `extends` recurse through it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.raw: dict[Path, dict[str, Any]] = {}

    def parsed(self, path: Path) -> dict[str, Any]:
        path = path.resolve()
        if path not in self.raw:
            data = interpolate(read_yaml(path), self.env, "")
            schema.validate(data, str(path))
            self.raw[path] = data
        return self.raw[path]

    def load(self, path: Path, base: Path, stack: tuple[Path, ...] = ()) -> dict[str, Any]:
        """One file, normalised, with its includes and extends resolved (relative paths against base)."""
        data = self.parsed(path)
        out: dict[str, Any] = {k: v for k, v in data.items() if k not in SECTIONS and k != "include"}
        for section in SECTIONS:
            out[section] = dict(data.get(section) or {})
        out["services"] = {name: self.service(path, base, name, stack) for name in out["services"]}
        for section in ("secrets", "configs"):
            for item in out[section].values():
                if item and item.get("file"):
                    item["file"] = str(normalize.resolve_path(item["file"], base))
        for entry in data.get("include") or []:
            out = self.include(out, entry, base, path, stack)
        return out

    def include(self, out: dict[str, Any], entry: Any, base: Path, path: Path,
                stack: tuple[Path, ...]) -> dict[str, Any]:
        spec = {"path": entry} if isinstance(entry, str) else dict(entry)
        paths = [spec["path"]] if isinstance(spec["path"], str) else list(spec["path"])
        files = [normalize.resolve_path(p, base) for p in paths]
        if any(f.resolve() in stack for f in files):
            raise ComposeError(f"include cycle: {' -> '.join(map(str, [*stack, files[0]]))}")
        sub_dir = normalize.resolve_path(spec["project_directory"], base) if spec.get("project_directory") \
            else files[0].parent
        sub_env = dict(self.env)
        env_files = spec.get("env_file")
        for env_path in ([env_files] if isinstance(env_files, str) else env_files or [str(sub_dir / ".env")]):
            p = normalize.resolve_path(env_path, base)
            if p.is_file() or env_files:
                sub_env = {**envfile_values(p, sub_env), **self.env}
        loader = _FileLoader(sub_env)
        included: dict[str, Any] = {}
        for f in files:
            included = merge_files(included, loader.load(f, sub_dir, (*stack, path.resolve())))
        for section in SECTIONS:
            for name, value in (included.get(section) or {}).items():
                if name in out[section]:
                    raise ComposeError(f"{path}: {section}.{name} conflicts with imported resource")
                out[section][name] = value
        return out

    def service(self, path: Path, base: Path, name: str, stack: tuple[Any, ...]) -> dict[str, Any]:
        raw = (self.parsed(path).get("services") or {}).get(name)
        if raw is None:
            raise ComposeError(f"{path}: cannot extend service {name!r}: no such service")
        svc = normalize.service(name, {k: v for k, v in raw.items() if k != "extends"}, base)
        ext = raw.get("extends")
        if not ext:
            return svc
        ext = {"service": ext} if isinstance(ext, str) else ext
        other = normalize.resolve_path(ext["file"], path.parent) if ext.get("file") else path
        key = (other.resolve(), ext["service"])
        if key in stack:
            raise ComposeError(f"{path}: services.{name}: circular reference with extends")
        other_base = other.parent if ext.get("file") else base
        parent = self.service(other, other_base, ext["service"], (*stack, (path.resolve(), name)))
        return merge_service(parent, svc)


def envfile_values(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in envfile.read(path, env).items() if v is not None}


def load(opts: Options) -> Project:
    files = find_files(opts)
    workdir = Path(opts.project_directory).resolve() if opts.project_directory else files[0].resolve().parent
    env, env_used = _environment(opts, workdir)
    loader = _FileLoader(env)
    merged: dict[str, Any] = {}
    for path in files:
        merged = merge_files(merged, loader.load(path, workdir))
    from dockyard.compose.resolve import finish

    profiles = opts.profiles or [p for p in env.get("COMPOSE_PROFILES", "").split(",") if p]
    name = project_name(opts, env, merged.get("name"), workdir)
    return finish(merged, name=name, workdir=str(workdir), files=[str(f.resolve()) for f in files],
                  env=dict(env), env_files=env_used, profiles=profiles)
