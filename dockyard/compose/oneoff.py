"""`run`: a one-off container of a service (com.docker.compose.oneoff=True), its dependencies started first."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from dockyard.compose import convert, model as labels
from dockyard.compose.engine import Api
from dockyard.compose.model import Project
from dockyard.compose.normalize import port, split_command, volume
from dockyard.compose.progress import Reporter
from dockyard.compose.up import Converger, UpOptions, wait_dependencies
from pathlib import Path


@dataclass
class RunOptions:
    service: str
    command: list[str] | None = None
    entrypoint: str | None = None
    env: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    name: str | None = None
    no_deps: bool = False
    service_ports: bool = False
    publish: list[str] = field(default_factory=list)
    tty: bool = False
    interactive: bool = True
    user: str | None = None
    workdir: str | None = None
    volumes: list[str] = field(default_factory=list)
    remove: bool = False
    build: bool = False


def _pair(item: str, default: str) -> tuple[str, str]:
    """`KEY=VALUE` as a pair; a bare `KEY` takes `default`."""
    key, sep, value = item.partition("=")
    return key, value if sep else default


def create_oneoff(api: Api, project: Project, opts: RunOptions, report: Reporter) -> str:
    """Start the service's dependencies (unless --no-deps), create the one-off container, return its ID."""
    svc = project.services[opts.service]
    deps = [d for d in project.order([opts.service]) if d != opts.service]
    if deps and not opts.no_deps:
        Converger(api, project, report, UpOptions(services=deps)).run()
        wait_dependencies(api, project, opts.service, report)
    else:
        Converger(api, project, report, UpOptions(services=[opts.service], no_deps=True, no_start=True)).ensure()
    if opts.publish:
        svc["ports"] = [p for spec in opts.publish for p in port(spec)]
    if opts.volumes:
        svc["volumes"] = [*svc.get("volumes", []), *(volume(v, Path(project.working_dir)) for v in opts.volumes)]
    body = convert.create_body(project, opts.service, 1, oneoff=True,
                               publish=opts.service_ports or bool(opts.publish))
    if opts.command:
        body["Cmd"] = opts.command
    if opts.entrypoint is not None:
        body["Entrypoint"] = split_command(opts.entrypoint)
    env = dict(_pair(e, project.environment.get(e, "")) for e in opts.env)
    body["Env"] = [*body.get("Env", []), *(f"{k}={v}" for k, v in env.items())]
    body["Labels"].update(dict(_pair(label, "") for label in opts.labels))
    body["Labels"].pop(labels.NUMBER, None)
    body["Tty"] = opts.tty
    body["OpenStdin"] = body["AttachStdin"] = body["StdinOnce"] = opts.interactive
    body["AttachStdout"] = body["AttachStderr"] = True
    if opts.user:
        body["User"] = opts.user
    if opts.workdir:
        body["WorkingDir"] = opts.workdir
    host = body["HostConfig"]
    host["RestartPolicy"] = {"Name": ""}
    host["AutoRemove"] = opts.remove
    for ep in body["NetworkingConfig"]["EndpointsConfig"].values():
        ep["Aliases"] = []  # a one-off is not an instance of the service on the network
    name = opts.name or f"{project.name}-{opts.service}-run-{secrets.token_hex(6)}"
    result = api.call("POST", "/containers/create", {"name": name}, body)
    cid = str(result["Id"])
    for net in convert.service_networks(project, opts.service)[1:]:
        api.call("POST", f"/networks/{project.network_name(net)}/connect", None,
                 {"Container": cid, "EndpointConfig": {}})
    return cid
