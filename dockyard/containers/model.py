"""The container record: its configuration, its state, and how the API renders both."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..timefmt import ZERO, human_duration, parse_rfc3339, rfc3339


@dataclass
class State:
    status: str = "created"  # created | running | paused | restarting | removing | exited | dead
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: str = ZERO
    finished_at: str = ZERO
    health: dict[str, Any] | None = None  # {"Status", "FailingStreak", "Log"}; kept by containers/health.py

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused", "restarting")

    def to_api(self) -> dict[str, Any]:
        return {
            "Status": self.status,
            "Running": self.status in ("running", "paused"),
            "Paused": self.status == "paused",
            "Restarting": self.status == "restarting",
            "OOMKilled": self.oom_killed,
            "Dead": self.status == "dead",
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
            **({"Health": self.health} if self.health is not None else {}),
        }

    def describe(self, now: float | None = None) -> str:
        """The Status column of `docker ps`."""
        now = time.time() if now is None else now
        if self.status in ("running", "paused"):
            text = "Up " + human_duration(now - parse_rfc3339(self.started_at))
            if self.status == "paused":
                return text + " (Paused)"
            from .health import describe  # the health wording lives with the health code
            return f"{text} ({describe(self.health)})" if self.health else text
        if self.status == "restarting":
            return f"Restarting ({self.exit_code}) {human_duration(now - parse_rfc3339(self.finished_at))} ago"
        if self.status == "exited":
            if self.finished_at == ZERO:
                return f"Exited ({self.exit_code})"
            return f"Exited ({self.exit_code}) {human_duration(now - parse_rfc3339(self.finished_at))} ago"
        if self.status == "removing":
            return "Removal In Progress"
        if self.status == "dead":
            return "Dead"
        return "Created"


@dataclass
class Container:
    id: str
    name: str                     # without the leading slash
    image: str                    # as the user wrote it (Config.Image)
    image_id: str
    created: str
    path: str
    args: list[str]
    config: dict[str, Any]        # API ContainerConfig after merging with the image
    host_config: dict[str, Any]
    state: State = field(default_factory=State)
    restart_count: int = 0
    root_dir: str = ""            # <data-root>/containers/<id>
    rootfs: str = ""              # where its overlay is mounted while it runs
    # Networks (endpoint settings by network name), Ports, SandboxKey; kept by network/sandbox.py
    network_settings: dict[str, Any] = field(default_factory=dict)
    # mount points (volumes, binds, tmpfs), in mount order; kept by containers/mounts.py
    mounts: list[dict[str, Any]] = field(default_factory=list)
    manually_stopped: bool = False  # by `stop`/`kill`: restart policies leave it down

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def log_type(self) -> str:
        return (self.host_config.get("LogConfig") or {}).get("Type") or "json-file"

    @property
    def log_path(self) -> str:
        """The driver's file: json-file's log, the local format's, or a remote driver's local cache."""
        from ..logging import drivers  # the file layout is the driver's

        try:
            return drivers.get(self.log_type).log_path(self.root_dir, self.id)
        except Exception:  # noqa: BLE001 - a record from an older daemon: Docker's default
            return f"{self.root_dir}/{self.id}-json.log"

    def log_info(self) -> dict[str, Any]:
        """What the log driver may say about the container (tag templates, labels, env, gelf fields)."""
        return {"id": self.id, "name": self.name, "image_id": self.image_id, "image_name": self.image,
                "command": self.command_line(), "created": self.created,
                "hostname": self.config.get("Hostname") or "", "labels": self.config.get("Labels") or {},
                "env": self.config.get("Env") or []}

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Container":
        record = dict(record)
        record["state"] = State(**record["state"])
        return cls(**record)

    def api_mounts(self) -> list[dict[str, Any]]:
        from .mounts import render  # the mount point format lives with the mount code

        return [render(p) for p in self.mounts if p.get("Listed", True)]

    def command_line(self) -> str:
        """`Command` of GET /containers/json: as Docker 20.10, an argument with a space is single-quoted."""
        args = [f"'{a}'" if " " in a else a for a in self.args]
        return " ".join([self.path, *args]).strip()

    def to_inspect(self, graph_driver: dict[str, Any], size_rw: int | None = None) -> dict[str, Any]:
        network_mode = self.host_config.get("NetworkMode") or "default"
        data: dict[str, Any] = {
            "Id": self.id,
            "Created": self.created,
            "Path": self.path,
            "Args": self.args,
            "State": self.state.to_api(),
            "Image": self.image_id,
            "ResolvConfPath": f"{self.root_dir}/resolv.conf",
            "HostnamePath": f"{self.root_dir}/hostname",
            "HostsPath": f"{self.root_dir}/hosts",
            "LogPath": self.log_path if self.log_type == "json-file" else "",
            "Name": "/" + self.name,
            "RestartCount": self.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": None,
            "HostConfig": self.host_config,
            "GraphDriver": graph_driver,
            "Mounts": self.api_mounts(),
            "Config": self.config,
            "NetworkSettings": network_settings(network_mode, self.network_settings),
        }
        if size_rw is not None:
            data["SizeRw"] = size_rw
            data["SizeRootFs"] = size_rw
        return data

    def to_summary(self) -> dict[str, Any]:
        network_mode = self.host_config.get("NetworkMode") or "default"
        return {
            "Id": self.id,
            "Names": ["/" + self.name],
            "Image": self.image,
            "ImageID": self.image_id,
            "Command": self.command_line(),
            "Created": int(parse_rfc3339(self.created)),
            "Ports": summary_ports(self.config, self.network_settings),
            "Labels": self.config.get("Labels") or {},
            "State": self.state.status,
            "Status": self.state.describe(),
            "HostConfig": {"NetworkMode": network_mode},
            "NetworkSettings": {"Networks": network_settings(network_mode, self.network_settings)["Networks"]},
            "Mounts": self.api_mounts(),
        }


def network_settings(mode: str, live: dict[str, Any] | None = None) -> dict[str, Any]:
    """Docker's NetworkSettings; the top-level IPAddress/Gateway/MacAddress are the default bridge's."""
    live = live or {}
    networks = live.get("Networks")
    if networks is None:  # a record from before networking: what it had then
        networks = {} if mode in ("none",) or mode.startswith("container:") else \
            {mode if mode != "default" else "bridge": _endpoint()}
    main = networks.get("bridge") or {}
    return {
        "Bridge": "", "SandboxID": live.get("SandboxKey", "").rsplit("/", 1)[-1],
        "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": live.get("Ports") or {},
        "SandboxKey": live.get("SandboxKey", ""), "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, "EndpointID": main.get("EndpointID", ""),
        "Gateway": main.get("Gateway", ""), "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": main.get("IPAddress", ""),
        "IPPrefixLen": main.get("IPPrefixLen", 0), "IPv6Gateway": "",
        "MacAddress": main.get("MacAddress", ""), "Networks": networks,
    }


def summary_ports(config: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """`Ports` of `docker ps`: published bindings, then exposed ports that are not published."""
    out: list[dict[str, Any]] = []
    done = set()
    for b in live.get("Published") or []:
        out.append({"IP": b.get("host_ip") or "0.0.0.0", "PrivatePort": b["container_port"],
                    "PublicPort": b["host_port"], "Type": b["proto"]})
        done.add(f"{b['container_port']}/{b['proto']}")
    for key in config.get("ExposedPorts") or {}:
        port, _, proto = key.partition("/")
        if f"{port}/{proto or 'tcp'}" not in done and port.isdigit():
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    return out


def _endpoint() -> dict[str, Any]:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "", "EndpointID": "",
            "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": None}


def now_rfc3339() -> str:
    return rfc3339()
