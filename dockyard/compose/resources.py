"""Project networks, volumes and images: created, pulled or built when missing, removed by down."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from dockyard.compose import convert
from dockyard.compose.engine import Api, ref_path
from dockyard.compose.errors import ComposeError
from dockyard.compose.model import Project
from dockyard.compose.progress import Reporter


def used_networks(project: Project, names: list[str] | None = None) -> list[str]:
    services = [project.services[n] for n in (names or project.services)]
    used = {net for s in services for net in (s.get("networks") or {})}
    return sorted(k for k in project.networks if k in used)


def ensure_networks(api: Api, project: Project, report: Reporter) -> None:
    for key in used_networks(project):
        spec = project.networks[key]
        name = spec["name"]
        if api.find(f"/networks/{ref_path(name)}") is not None:
            continue
        if spec.get("external"):
            raise ComposeError(f"network {name} declared as external, but could not be found")
        report.event("Network", name, "Creating")
        api.call("POST", "/networks/create", None, convert.network_body(project, key))
        report.event("Network", name, "Created")


def ensure_volumes(api: Api, project: Project, report: Reporter) -> None:
    for key, spec in sorted(project.volumes.items()):
        name = spec["name"]
        if api.find(f"/volumes/{ref_path(name)}") is not None:
            continue
        if spec.get("external"):
            raise ComposeError(f"external volume \"{name}\" not found")
        report.event("Volume", f'"{name}"', "Creating")
        api.call("POST", "/volumes/create", None, convert.volume_body(project, key))
        report.event("Volume", f'"{name}"', "Created")


def image_id(api: Api, ref: str) -> str | None:
    found = api.find(f"/images/{ref_path(ref)}/json")
    return None if found is None else str(found["Id"])


def _split(ref: str) -> tuple[str, str]:
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash = name.rfind("/")
    colon = name.rfind(":")
    return (name[:colon], name[colon + 1:]) if colon > slash else (name, "latest")


def pull_image(api: Api, ref: str, report: Reporter, service: str) -> None:
    name, tag = _split(ref)
    report.event("Image", ref, "Pulling")
    for msg in api.stream_json("POST", "/images/create", {"fromImage": name, "tag": tag}):
        if msg.get("error"):
            raise ComposeError(f"Error response from daemon: {msg['error']}")
    report.event("Image", ref, "Pulled")


def push_image(api: Api, ref: str, report: Reporter, headers: dict[str, str] | None = None) -> None:
    name, tag = _split(ref)
    report.event("Image", ref, "Pushing")
    for msg in api.stream_json("POST", f"/images/{ref_path(name)}/push", {"tag": tag},
                               headers={"X-Registry-Auth": "e30=", **(headers or {})}):
        if msg.get("error"):
            raise ComposeError(f"Error response from daemon: {msg['error']}")
    report.event("Image", ref, "Pushed")


def _context_tar(context: Path) -> bytes:
    if not context.is_dir():
        raise ComposeError(f"unable to prepare context: path {str(context)!r} not found")
    ignore: list[str] = []
    dockerignore = context / ".dockerignore"
    if dockerignore.is_file():
        ignore = [l.strip() for l in dockerignore.read_text().splitlines() if l.strip() and not l.startswith("#")]
    import fnmatch

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for root, dirs, files in os.walk(context):
            for entry in sorted(dirs + files):
                full = Path(root, entry)
                rel = str(full.relative_to(context))
                if any(fnmatch.fnmatch(rel, pat) for pat in ignore):
                    if entry in dirs:
                        dirs.remove(entry)
                    continue
                tar.add(full, arcname=rel, recursive=False)
    return buf.getvalue()


def build_image(api: Api, project: Project, name: str, report: Reporter, no_cache: bool = False) -> None:
    """POST /build with the context as a tar; the image is tagged as the service's image name."""
    spec = project.services[name]["build"]
    tag = convert.image_name(project, name)
    report.event("Service", name, "Building")
    params: dict[str, Any] = {"t": tag, "dockerfile": spec.get("dockerfile", "Dockerfile"), "rm": 1,
                              "forcerm": 1, "nocache": int(no_cache)}
    for key, api_key in (("args", "buildargs"), ("labels", "labels")):
        if spec.get(key):
            params[api_key] = json.dumps({k: v for k, v in spec[key].items() if v is not None})
    if spec.get("target"):
        params["target"] = spec["target"]
    if spec.get("cache_from"):
        params["cachefrom"] = json.dumps(spec["cache_from"])
    if spec.get("network"):
        params["networkmode"] = spec["network"]
    body = _context_tar(Path(spec["context"]))
    for msg in api.stream_json("POST", "/build", params, body, headers={"Content-Type": "application/x-tar"}):
        if msg.get("error"):
            raise ComposeError(f"failed to solve: {msg['error'].strip()}")
        text = msg.get("stream")
        if text and not report.quiet:
            report.out.write(text)
    report.event("Service", name, "Built")


def ensure_images(api: Api, project: Project, names: list[str], report: Reporter, *, build: bool = False,
                  no_build: bool = False, pull: str = "missing") -> dict[str, str]:
    """Build or pull what is missing (or everything asked for); return each service's image ID."""
    ids: dict[str, str] = {}
    for name in names:
        svc = project.services[name]
        ref = convert.image_name(project, name)
        policy = svc.get("pull_policy") or pull
        current = image_id(api, ref)
        found = current
        if "build" in svc and not no_build and (build or current is None or policy == "build"):
            build_image(api, project, name, report)
            found = image_id(api, ref)
        elif current is None or policy == "always":
            if policy == "never" and current is None:
                raise ComposeError(f"No such image: {ref}")
            pull_image(api, ref, report, name)
            found = image_id(api, ref)
        if found is None:
            raise ComposeError(f"No such image: {ref}")
        ids[name] = found
    return ids
