"""`up`/`create`: converge a project's networks, volumes and containers on its model, by config hash."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from dockyard.compose import convert, model as labels
from dockyard.compose.engine import Api, name_of, number_of
from dockyard.compose.errors import ComposeError
from dockyard.compose.graph import run_in_order
from dockyard.compose.model import Project
from dockyard.compose.progress import Reporter
from dockyard.compose.resources import ensure_images, ensure_networks, ensure_volumes


@dataclass
class UpOptions:
    services: list[str] = field(default_factory=list)
    force_recreate: bool = False
    no_recreate: bool = False
    no_deps: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    build: bool = False
    no_build: bool = False
    scale: dict[str, int] = field(default_factory=dict)
    pull: str = "missing"
    timeout: int | None = None


class Converger:
    def __init__(self, api: Api, project: Project, report: Reporter, opts: UpOptions) -> None:
        self.api = api
        self.project = project
        self.report = report
        self.opts = opts
        self.recreated: set[str] = set()
        self.lock = threading.Lock()
        self.image_ids: dict[str, str] = {}

    def targets(self) -> list[str]:
        names = self.opts.services or list(self.project.services)
        for n in names:
            self.project.service(n)
        return names if self.opts.no_deps else self.project.order(names)

    def ensure(self) -> list[str]:
        """Networks, volumes and images the target services need; returns the targets in order."""
        names = self.targets()
        ensure_networks(self.api, self.project, self.report)
        ensure_volumes(self.api, self.project, self.report)
        self.image_ids = ensure_images(self.api, self.project, names, self.report, build=self.opts.build,
                                       no_build=self.opts.no_build, pull=self.opts.pull)
        return names

    def run(self) -> list[str]:
        self.orphans()
        names = self.ensure()
        run_in_order(self.project, names, self.converge)
        return names

    def orphans(self) -> None:
        known = set(self.project.services) | set(self.project.disabled)
        found = [c for c in self.api.containers(self.project.name)
                 if (c.get("Labels") or {}).get(labels.SERVICE) not in known]
        if not found:
            return
        if self.opts.remove_orphans:
            for c in found:
                self.report.event("Container", name_of(c), "Removing")
                self.api.quietly("DELETE", f"/containers/{c['Id']}", {"force": 1})
                self.report.event("Container", name_of(c), "Removed")
        else:
            self.report.warn(f"Found orphan containers ([{' '.join(name_of(c) for c in found)}]) for this project. "
                             "If you removed or renamed this service in your compose file, you can run this "
                             "command with the --remove-orphans flag to clean it up.")

    def converge(self, name: str) -> None:
        svc = self.project.services[name]
        if not self.opts.no_start:
            wait_dependencies(self.api, self.project, name, self.report)
        scale = self.opts.scale[name] if name in self.opts.scale else int(svc["scale"])
        if svc.get("container_name") and scale > 1:
            raise ComposeError(f'service "{name}" has a container_name and can not be scaled: '
                               f'container name "{svc["container_name"]}" is already in use')
        existing = self.api.containers(self.project.name, name)
        want_hash = convert.config_hash(svc)
        deps_recreated = any(d in self.recreated for d in svc.get("depends_on", {})) or (
            str(svc.get("network_mode", "")).split(":", 1)[-1] in self.recreated)
        for extra in [c for c in existing if number_of(c) > scale][::-1]:
            self.remove(extra)
        taken = {number_of(c): c for c in existing if number_of(c) <= scale}
        for number in range(1, scale + 1):
            c = taken.get(number)
            if c is None:
                self.create(name, number, start=not self.opts.no_start)
                continue
            stale = ((c.get("Labels") or {}).get(labels.CONFIG_HASH) != want_hash
                     or (self.image_ids.get(name) and c.get("ImageID") != self.image_ids[name]))
            if not self.opts.no_recreate and (self.opts.force_recreate or stale or deps_recreated):
                self.recreate(name, number, c)
            elif c.get("State") != "running" and not self.opts.no_start:
                self.start(name_of(c), c["Id"])
            else:
                self.report.event("Container", name_of(c), "Running" if c.get("State") == "running" else "Created")

    def create(self, name: str, number: int, start: bool, cname: str | None = None) -> str:
        cname = cname or convert.container_name(self.project, name, number)
        self.report.event("Container", cname, "Creating")
        body = convert.create_body(self.project, name, number)
        result = self.api.call("POST", "/containers/create", {"name": cname}, body)
        cid = str(result["Id"])
        for net in convert.service_networks(self.project, name)[1:]:
            self.api.call("POST", f"/networks/{self.project.network_name(net)}/connect", None,
                          {"Container": cid, "EndpointConfig": convert.endpoint(self.project, name, net)})
        self.report.event("Container", cname, "Created")
        if start:
            self.start(cname, cid)
        return cid

    def start(self, cname: str, cid: str) -> None:
        self.report.event("Container", cname, "Starting")
        self.api.call("POST", f"/containers/{cid}/start")
        self.report.event("Container", cname, "Started")

    def recreate(self, name: str, number: int, old: dict[str, Any]) -> None:
        cname = name_of(old)
        self.report.event("Container", cname, "Recreate")
        stop_container(self.api, old["Id"], self.project.services[name], self.opts.timeout)
        self.api.call("POST", f"/containers/{old['Id']}/rename", {"name": f"{old['Id'][:12]}_{cname}"})
        # the replacement gets Compose v2's name, even when the old one had another (docker-compose 1.29's)
        new_name = convert.container_name(self.project, name, number)
        cid = self.create(name, number, start=False, cname=new_name)
        self.api.quietly("DELETE", f"/containers/{old['Id']}", {"force": 1})
        self.report.event("Container", new_name, "Recreated")
        with self.lock:
            self.recreated.add(name)
        if not self.opts.no_start:
            self.start(new_name, cid)

    def remove(self, c: dict[str, Any]) -> None:
        self.report.event("Container", name_of(c), "Stopping")
        stop_container(self.api, c["Id"], {}, self.opts.timeout)
        self.report.event("Container", name_of(c), "Stopped")
        self.report.event("Container", name_of(c), "Removing")
        self.api.quietly("DELETE", f"/containers/{c['Id']}", {"force": 1})
        self.report.event("Container", name_of(c), "Removed")


def stop_container(api: Api, cid: str, svc: dict[str, Any], timeout: int | None) -> None:
    if timeout is None and svc.get("stop_grace_period") is not None:
        timeout = convert.duration_ns(svc["stop_grace_period"]) // 10**9
    api.quietly("POST", f"/containers/{cid}/stop", {"t": timeout} if timeout is not None else None)


def wait_dependencies(api: Api, project: Project, name: str, report: Reporter) -> None:
    """Block until every dependency of `name` meets its condition (started, healthy, completed)."""
    for dep, spec in project.services[name].get("depends_on", {}).items():
        if dep not in project.services:
            continue
        for c in api.containers(project.name, dep):
            wait_condition(api, c, spec.get("condition", "service_started"), dep, report)


def wait_condition(api: Api, c: dict[str, Any], condition: str, service: str, report: Reporter,
                   timeout: float | None = None) -> None:
    if condition == "service_started":
        return
    cname = name_of(c)
    report.event("Container", cname, "Waiting")
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.05
    while True:
        state = (api.find(f"/containers/{c['Id']}/json") or {}).get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        if condition == "service_healthy":
            if health == "healthy":
                report.event("Container", cname, "Healthy")
                return
            if health == "unhealthy":
                raise ComposeError(f"dependency failed to start: container {cname} is unhealthy")
            if health is None and state.get("Running"):
                raise ComposeError(f"dependency failed to start: container {cname} has no healthcheck configured")
            if state.get("Status") in ("exited", "dead"):
                raise ComposeError(f"dependency failed to start: container {cname} exited ({state.get('ExitCode')})")
        elif condition == "service_completed_successfully":
            if state.get("Status") in ("exited", "dead"):
                if state.get("ExitCode") == 0:
                    report.event("Container", cname, "Exited")
                    return
                raise ComposeError(f'service "{service}" didn\'t complete successfully: exit {state.get("ExitCode")}')
        if deadline is not None and time.monotonic() > deadline:
            raise ComposeError(f"container {cname} did not become {condition.split('_', 1)[1]} in time")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
