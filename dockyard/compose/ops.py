"""Project verbs on existing containers: down, stop, start, restart, kill, rm, pause, unpause (reverse order where Compose stops)."""
from __future__ import annotations

import json
from typing import Any, Callable

from dockyard.compose import convert, model as labels
from dockyard.compose.engine import Api, ref_path, name_of
from dockyard.compose.graph import run_in_order
from dockyard.compose.model import Project
from dockyard.compose.progress import Reporter
from dockyard.compose.resources import used_networks
from dockyard.compose.up import stop_container


def by_service(api: Api, project: Project, services: list[str] | None, oneoff: bool | None = False,
               all_: bool = True) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in api.containers(project.name, oneoff=oneoff, all_=all_):
        svc = (c.get("Labels") or {}).get(labels.SERVICE, "")
        if not services or svc in services:
            out.setdefault(svc, []).append(c)
    return out


def _each(api: Api, project: Project, services: list[str] | None, action: Callable[[dict[str, Any]], None],
          reverse: bool, oneoff: bool | None = False) -> None:
    groups = by_service(api, project, services, oneoff)
    known = [s for s in groups if s in project.services]

    def task(name: str) -> None:
        for c in groups.get(name, []):
            action(c)

    run_in_order(project, known, task, reverse=reverse)
    for name in [s for s in groups if s not in project.services]:  # orphans: no order to respect
        task(name)


def stop(api: Api, project: Project, report: Reporter, services: list[str] | None = None,
         timeout: int | None = None) -> None:
    def act(c: dict[str, Any]) -> None:
        if c.get("State") not in ("running", "paused", "restarting"):
            return
        report.event("Container", name_of(c), "Stopping")
        svc = project.services.get((c.get("Labels") or {}).get(labels.SERVICE, ""), {})
        stop_container(api, c["Id"], svc, timeout)
        report.event("Container", name_of(c), "Stopped")
    _each(api, project, services, act, reverse=True)


def start(api: Api, project: Project, report: Reporter, services: list[str] | None = None) -> None:
    from dockyard.compose.up import wait_dependencies

    groups = by_service(api, project, services)

    def task(name: str) -> None:
        wait_dependencies(api, project, name, report)
        for c in groups.get(name, []):
            if c.get("State") != "running":
                report.event("Container", name_of(c), "Starting")
                api.call("POST", f"/containers/{c['Id']}/start")
                report.event("Container", name_of(c), "Started")
    run_in_order(project, [s for s in groups if s in project.services], task)


def simple(api: Api, project: Project, report: Reporter, verb: str, services: list[str] | None = None,
           params: dict[str, Any] | None = None) -> None:
    """restart, kill, pause, unpause: one POST per container, in start order."""
    ing = {"restart": ("Restarting", "Started"), "kill": ("Killing", "Killed"),
           "pause": ("Pausing", "Paused"), "unpause": ("Unpausing", "Unpaused")}[verb]
    wanted = {"kill": ("running", "paused", "restarting"), "pause": ("running",), "unpause": ("paused",),
              "restart": None}[verb]

    def act(c: dict[str, Any]) -> None:
        if wanted and c.get("State") not in wanted:
            return
        report.event("Container", name_of(c), ing[0])
        api.call("POST", f"/containers/{c['Id']}/{verb}", params)
        report.event("Container", name_of(c), ing[1])
    _each(api, project, services, act, reverse=False)


def remove(api: Api, project: Project, report: Reporter, services: list[str] | None = None,
           stopped_only: bool = True, volumes: bool = False, force: bool = False) -> list[str]:
    groups = by_service(api, project, services)
    gone = []
    for cs in groups.values():
        for c in cs:
            if c.get("State") == "running" and not force:
                continue
            report.event("Container", name_of(c), "Removing")
            api.quietly("DELETE", f"/containers/{c['Id']}", {"force": 1, "v": int(volumes)})
            report.event("Container", name_of(c), "Removed")
            gone.append(name_of(c))
    return gone


def down(api: Api, project: Project, report: Reporter, *, remove_orphans: bool = False, volumes: bool = False,
         rmi: str | None = None, timeout: int | None = None) -> None:
    """Stop and remove containers (reverse dependency order), then networks, volumes (-v), images (--rmi)."""
    groups = by_service(api, project, None, oneoff=None)
    orphans = [c for s, cs in groups.items() if s not in project.services and s not in project.disabled for c in cs]
    if orphans and not remove_orphans:
        report.warn(f"Found orphan containers ([{' '.join(name_of(c) for c in orphans)}]) for this project. "
                    "If you removed or renamed this service in your compose file, you can run this command "
                    "with the --remove-orphans flag to clean it up.")
    images = {c.get("Image", "") for cs in groups.values() for c in cs}

    def act(c: dict[str, Any]) -> None:
        svc = (c.get("Labels") or {}).get(labels.SERVICE, "")
        if svc not in project.services and svc not in project.disabled and not remove_orphans:
            return
        report.event("Container", name_of(c), "Stopping")
        stop_container(api, c["Id"], project.services.get(svc, {}), timeout)
        report.event("Container", name_of(c), "Stopped")
        report.event("Container", name_of(c), "Removing")
        api.quietly("DELETE", f"/containers/{c['Id']}", {"force": 1, "v": int(volumes)})
        report.event("Container", name_of(c), "Removed")

    _each(api, project, None, act, reverse=True, oneoff=None)
    remove_networks(api, project, report)
    if volumes:
        for key, spec in sorted(project.volumes.items()):
            if spec.get("external"):
                continue
            found = api.find(f"/volumes/{ref_path(spec['name'])}")
            if found is None:
                continue
            report.event("Volume", spec["name"], "Removing")
            api.quietly("DELETE", f"/volumes/{ref_path(spec['name'])}")
            report.event("Volume", spec["name"], "Removed")
    if rmi:
        remove_images(api, project, report, rmi, images)


def remove_networks(api: Api, project: Project, report: Reporter) -> None:
    """The model's networks, and any other carrying the project's label (made for a service that a
    profile enabled then, say)."""
    names = {spec["name"] for spec in project.networks.values() if not spec.get("external")}
    labelled = api.call("GET", "/networks", {"filters": json.dumps({"label": [f"{labels.PROJECT}={project.name}"]})})
    names |= {n["Name"] for n in labelled or []}
    for name in sorted(names):
        found = api.find(f"/networks/{ref_path(name)}")
        if found is None or (found.get("Labels") or {}).get(labels.PROJECT) not in (project.name, None):
            continue
        report.event("Network", name, "Removing")
        api.quietly("DELETE", f"/networks/{found['Id']}")
        report.event("Network", name, "Removed")


def remove_images(api: Api, project: Project, report: Reporter, mode: str, used: set[str]) -> None:
    """--rmi local: images built for services without an `image:`; --rmi all: every service image."""
    refs = set()
    for name, svc in project.services.items():
        if mode == "all" or ("image" not in svc and "build" in svc):
            refs.add(convert.image_name(project, name))
    for ref in sorted(refs):
        if api.find(f"/images/{ref_path(ref)}/json") is None:
            continue
        report.event("Image", ref, "Removing")
        api.quietly("DELETE", f"/images/{ref_path(ref)}")
        report.event("Image", ref, "Removed")


def projects(api: Api, all_: bool) -> list[dict[str, str]]:
    """`ls`: projects seen through their containers' labels, with status counts and config files."""
    found = api.call("GET", "/containers/json", {"all": int(all_), "filters": json.dumps({"label": [labels.PROJECT]})})
    out: dict[str, dict[str, Any]] = {}
    for c in found or []:
        lbl = c.get("Labels") or {}
        entry = out.setdefault(lbl[labels.PROJECT], {"states": {}, "files": lbl.get(labels.CONFIG_FILES, "")})
        entry["states"][c.get("State", "")] = entry["states"].get(c.get("State", ""), 0) + 1
    return [{"Name": name, "Status": ", ".join(f"{s}({n})" for s, n in sorted(e["states"].items())),
             "ConfigFiles": e["files"]} for name, e in sorted(out.items())]
