"""A service as Engine API bodies: the container create body, its config hash, network and volume create bodies."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from dockyard.compose import model as labels
from dockyard.compose.errors import ComposeError
from dockyard.compose.model import Project, Service

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)b?$", re.I)


def duration_ns(value: Any) -> int:
    """A Go duration ("1m30s", "500ms") or a number of seconds, in nanoseconds."""
    if isinstance(value, (int, float)):
        return int(value * 10**9)
    text = str(value).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ComposeError(f"invalid duration {text!r}")
    return int(sum(float(n) * _UNIT_NS[u] for n, u in parts))


def size_bytes(value: Any) -> int:
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value).strip())
    if not m:
        raise ComposeError(f"invalid size {value!r}")
    return int(float(m.group(1)) * 1024 ** " kmgtp".index(m.group(2).lower() or " "))


def config_hash(svc: Service) -> str:
    """What decides recreation: the service's config minus what scaling or building alone changes."""
    relevant = {k: v for k, v in svc.items() if k not in ("scale", "build", "pull_policy", "profiles")}
    if "deploy" in relevant:
        relevant["deploy"] = {k: v for k, v in relevant["deploy"].items() if k != "replicas"}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def image_name(project: Project, name: str) -> str:
    svc = project.services[name]
    return str(svc.get("image") or f"{project.name}-{name}")


def container_name(project: Project, name: str, number: int) -> str:
    return str(project.services[name].get("container_name") or f"{project.name}-{name}-{number}")


def _healthcheck(hc: dict[str, Any] | None) -> dict[str, Any] | None:
    if not hc:
        return None
    if hc.get("disable"):
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {"Test": hc.get("test")}
    for key, api in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod"),
                     ("start_interval", "StartInterval")):
        if hc.get(key) is not None:
            out[api] = duration_ns(hc[key])
    if hc.get("retries") is not None:
        out["Retries"] = int(hc["retries"])
    return out


def _mounts(project: Project, svc: Service) -> tuple[list[str], list[dict[str, Any]], dict[str, str]]:
    binds: list[str] = []
    mounts: list[dict[str, Any]] = []
    tmpfs: dict[str, str] = {t.split(":")[0]: (t.split(":", 1)[1] if ":" in t else "") for t in svc.get("tmpfs", [])}
    for vol in svc.get("volumes", []):
        ro = bool(vol.get("read_only"))
        if vol["type"] == "bind":
            # Binds, not Mounts: the daemon creates a missing host path, as create_host_path asks
            mode = ",".join(x for x in ("ro" if ro else "", (vol.get("bind") or {}).get("propagation", "")) if x)
            binds.append(f"{vol['source']}:{vol['target']}" + (f":{mode}" if mode else ""))
        elif vol["type"] == "volume":
            m: dict[str, Any] = {"Type": "volume", "Target": vol["target"], "ReadOnly": ro}
            if vol.get("source"):
                m["Source"] = project.volume_name(vol["source"])
            if (vol.get("volume") or {}).get("nocopy"):
                m["VolumeOptions"] = {"NoCopy": True}
            mounts.append(m)
        elif vol["type"] == "tmpfs":
            size = (vol.get("tmpfs") or {}).get("size")
            mounts.append({"Type": "tmpfs", "Target": vol["target"], "ReadOnly": ro,
                           **({"TmpfsOptions": {"SizeBytes": size_bytes(size)}} if size else {})})
        else:
            raise ComposeError(f"unsupported volume type {vol['type']!r}")
    for kind in ("secrets", "configs"):
        for ref in svc.get(kind, []):
            spec = getattr(project, kind)[ref["source"]]
            if not spec.get("file"):
                raise ComposeError(f"{kind[:-1]} {ref['source']}: only file-based {kind} are supported")
            target = ref["target"] if ref["target"].startswith("/") else f"/run/secrets/{ref['target']}"
            binds.append(f"{spec['file']}:{target}:ro")
    return binds, mounts, tmpfs


def _ports(svc: Service, publish: bool) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for e in svc.get("expose", []):
        port, _, proto = e.partition("/")
        exposed[f"{port}/{proto or 'tcp'}"] = {}
    for p in svc.get("ports", []):
        key = f"{p['target']}/{p.get('protocol', 'tcp')}"
        exposed[key] = {}
        if publish:
            bindings.setdefault(key, []).append({"HostIp": p.get("host_ip", ""), "HostPort": str(p.get("published") or "")})
    return exposed, bindings


def _restart(svc: Service) -> dict[str, Any]:
    policy = str(svc.get("restart") or "")
    if not policy:
        rp = (svc.get("deploy") or {}).get("restart_policy") or {}
        cond = {"any": "always", "on-failure": "on-failure", "none": "no"}.get(rp.get("condition", ""), "")
        return {"Name": cond, "MaximumRetryCount": int(rp.get("max_attempts", 0))} if cond else {"Name": ""}
    name, _, count = policy.partition(":")
    return {"Name": "" if name == "no" else name, "MaximumRetryCount": int(count or 0)}


def _resources(svc: Service) -> dict[str, Any]:
    out: dict[str, Any] = {}
    res = (svc.get("deploy") or {}).get("resources") or {}
    limits, reserve = res.get("limits") or {}, res.get("reservations") or {}
    mem = svc.get("mem_limit") or limits.get("memory")
    if mem:
        out["Memory"] = size_bytes(mem)
    if svc.get("mem_reservation") or reserve.get("memory"):
        out["MemoryReservation"] = size_bytes(svc.get("mem_reservation") or reserve["memory"])
    cpus = svc.get("cpus") or limits.get("cpus")
    if cpus:
        out["NanoCpus"] = int(float(cpus) * 10**9)
    if svc.get("pids_limit") or limits.get("pids"):
        out["PidsLimit"] = int(svc.get("pids_limit") or limits["pids"])
    if svc.get("cpu_shares"):
        out["CpuShares"] = int(svc["cpu_shares"])
    if svc.get("memswap_limit"):
        out["MemorySwap"] = size_bytes(svc["memswap_limit"])
    return out


def _network_mode(project: Project, name: str) -> tuple[str, dict[str, Any]]:
    svc = project.services[name]
    mode = svc.get("network_mode")
    if mode:
        if mode.startswith("service:"):
            return f"container:{project.name}-{mode.split(':', 1)[1]}-1", {}
        return str(mode), {}
    first = service_networks(project, name)[0]
    return project.network_name(first), {project.network_name(first): endpoint(project, name, first)}


def service_networks(project: Project, name: str) -> list[str]:
    """The service's network keys, highest priority first: the first goes in the create body."""
    nets = project.services[name].get("networks") or {}
    return sorted(nets, key=lambda n: (-int((nets[n] or {}).get("priority", 0)), n))


def endpoint(project: Project, service: str, net: str) -> dict[str, Any]:
    """The endpoint config on one network: the service name and its aliases resolve there."""
    spec = (project.services[service].get("networks") or {}).get(net) or {}
    out: dict[str, Any] = {"Aliases": [service, *spec.get("aliases", [])]}
    if spec.get("ipv4_address") or spec.get("ipv6_address"):
        out["IPAMConfig"] = {k: spec[s] for k, s in (("IPv4Address", "ipv4_address"), ("IPv6Address", "ipv6_address"))
                             if spec.get(s)}
    return out


def create_body(project: Project, name: str, number: int, *, oneoff: bool = False,
                publish: bool = True) -> dict[str, Any]:
    """POST /containers/create body for replica `number` of service `name`."""
    svc = project.services[name]
    binds, mounts, tmpfs = _mounts(project, svc)
    exposed, bindings = _ports(svc, publish)
    mode, endpoints = _network_mode(project, name)
    lbl = {**svc.get("labels", {}), **compose_labels(project, name, number, oneoff)}
    host: dict[str, Any] = {
        "Binds": binds, "Mounts": mounts, "PortBindings": bindings, "NetworkMode": mode,
        "RestartPolicy": _restart(svc), "CapAdd": svc.get("cap_add"), "CapDrop": svc.get("cap_drop"),
        "Privileged": bool(svc.get("privileged")), "ReadonlyRootfs": bool(svc.get("read_only")),
        "ExtraHosts": svc.get("extra_hosts"), "Dns": svc.get("dns"), "DnsSearch": svc.get("dns_search"),
        "DnsOptions": svc.get("dns_opt"), "Sysctls": svc.get("sysctls"), "SecurityOpt": svc.get("security_opt"),
        "Tmpfs": tmpfs or None, "GroupAdd": svc.get("group_add"), "PidMode": svc.get("pid") or "",
        "IpcMode": svc.get("ipc") or "", "Init": svc.get("init"), "Runtime": svc.get("runtime"),
        "Ulimits": [{"Name": k, "Soft": v["soft"], "Hard": v["hard"]} for k, v in svc.get("ulimits", {}).items()],
        **_resources(svc),
    }
    if svc.get("shm_size"):
        host["ShmSize"] = size_bytes(svc["shm_size"])
    if svc.get("logging"):
        host["LogConfig"] = {"Type": svc["logging"].get("driver", ""), "Config": svc["logging"].get("options") or {}}
    if svc.get("oom_score_adj") is not None:
        host["OomScoreAdj"] = int(svc["oom_score_adj"])
    body: dict[str, Any] = {
        "Image": image_name(project, name), "Labels": lbl, "Env": [f"{k}={v}" for k, v in svc.get("environment", {}).items()],
        "Cmd": svc.get("command"), "Entrypoint": svc.get("entrypoint"), "ExposedPorts": exposed,
        "Hostname": svc.get("hostname") or "", "Domainname": svc.get("domainname") or "",
        "User": str(svc.get("user") or ""), "WorkingDir": svc.get("working_dir") or "",
        "Tty": bool(svc.get("tty")), "OpenStdin": bool(svc.get("stdin_open")), "StopSignal": svc.get("stop_signal"),
        "Healthcheck": _healthcheck(svc.get("healthcheck")), "HostConfig": host,
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    }
    if svc.get("stop_grace_period") is not None:
        body["StopTimeout"] = duration_ns(svc["stop_grace_period"]) // 10**9
    return {k: v for k, v in body.items() if v is not None}


def compose_labels(project: Project, name: str, number: int, oneoff: bool) -> dict[str, str]:
    svc = project.services[name]
    deps = ",".join(f"{d}:{s['condition']}:{str(bool(s.get('restart'))).lower()}"
                    for d, s in sorted(svc.get("depends_on", {}).items()))
    out = {
        labels.PROJECT: project.name, labels.SERVICE: name, labels.NUMBER: str(number),
        labels.ONEOFF: "True" if oneoff else "False", labels.CONFIG_HASH: config_hash(svc),
        labels.WORKING_DIR: project.working_dir, labels.CONFIG_FILES: ",".join(project.config_files),
        labels.VERSION: labels.COMPOSE_VERSION, labels.DEPENDS_ON: deps, labels.IMAGE: image_name(project, name),
    }
    if project.env_files:  # Compose sets it only when an environment file was read
        out[labels.ENV_FILE] = ",".join(project.env_files)
    return out


def network_body(project: Project, key: str) -> dict[str, Any]:
    spec = project.networks[key]
    body: dict[str, Any] = {
        "Name": spec["name"], "CheckDuplicate": True, "Driver": spec.get("driver") or "bridge",
        "Internal": bool(spec.get("internal")), "Attachable": bool(spec.get("attachable")),
        "EnableIPv6": bool(spec.get("enable_ipv6")), "Options": spec.get("driver_opts") or {},
        "Labels": {**(spec.get("labels") or {}), labels.PROJECT: project.name, labels.NETWORK: key,
                   labels.VERSION: labels.COMPOSE_VERSION},
    }
    ipam = spec.get("ipam")
    if ipam:
        body["IPAM"] = {"Driver": ipam.get("driver") or "default", "Options": ipam.get("options") or {},
                        "Config": [{"Subnet": c.get("subnet"), "Gateway": c.get("gateway"), "IPRange": c.get("ip_range"),
                                    **({"AuxiliaryAddresses": c["aux_addresses"]} if c.get("aux_addresses") else {})}
                                   for c in ipam.get("config") or []]}
        for c in body["IPAM"]["Config"]:
            for k in [k for k, v in c.items() if v is None]:
                del c[k]
    return body


def volume_body(project: Project, key: str) -> dict[str, Any]:
    spec = project.volumes[key]
    return {"Name": spec["name"], "Driver": spec.get("driver") or "local", "DriverOpts": spec.get("driver_opts") or {},
            "Labels": {**(spec.get("labels") or {}), labels.PROJECT: project.name, labels.VOLUME: key,
                       labels.VERSION: labels.COMPOSE_VERSION}}
