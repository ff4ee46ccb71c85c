"""Validate a `POST /containers/create` body and merge it with the image's config, as Docker does."""
from __future__ import annotations

import random
import re
from typing import Any

from ..errors import InvalidParameter
from . import health as healthlib

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Field -> accepted JSON types; a wrong type is a 400 like Docker's JSON decoder gives.
_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "Hostname": (str,), "Domainname": (str,), "User": (str,), "AttachStdin": (bool,),
    "AttachStdout": (bool,), "AttachStderr": (bool,), "Tty": (bool,), "OpenStdin": (bool,),
    "StdinOnce": (bool,), "Env": (list,), "Cmd": (list, str), "Image": (str,),
    "WorkingDir": (str,), "Entrypoint": (list, str), "Labels": (dict,), "StopSignal": (str,),
    "StopTimeout": (int,), "ExposedPorts": (dict,), "Volumes": (dict,), "NetworkDisabled": (bool,),
    "HostConfig": (dict,), "NetworkingConfig": (dict,), "Healthcheck": (dict,), "Shell": (list,),
    "OnBuild": (list,), "MacAddress": (str,), "ArgsEscaped": (bool,),
}
_HOST_TYPES: dict[str, tuple[type, ...]] = {
    "Memory": (int,), "MemorySwap": (int,), "MemoryReservation": (int,), "PidsLimit": (int,),
    "CpuShares": (int,), "CpuPeriod": (int,), "CpuQuota": (int,), "NanoCpus": (int,),
    "CpusetCpus": (str,), "CpusetMems": (str,), "NetworkMode": (str,), "AutoRemove": (bool,),
    "Privileged": (bool,), "ReadonlyRootfs": (bool,), "CapAdd": (list,), "CapDrop": (list,),
    "RestartPolicy": (dict,), "Binds": (list,), "Ulimits": (list,), "ShmSize": (int,),
    "OomKillDisable": (bool,), "OomScoreAdj": (int,), "Init": (bool,), "Dns": (list,),
    "DnsSearch": (list,), "DnsOptions": (list,), "ExtraHosts": (list,), "LogConfig": (dict,),
    "PortBindings": (dict,), "Mounts": (list,), "Tmpfs": (dict,), "SecurityOpt": (list,),
    "Sysctls": (dict,), "GroupAdd": (list,), "Devices": (list,), "BlkioWeight": (int,),
    "IpcMode": (str,), "PidMode": (str,), "UTSMode": (str,), "VolumesFrom": (list,),
    "VolumeDriver": (str,),
}
SUPPORTED_NETWORK_MODES = ("default", "bridge", "host", "none")  # plus container:<id> and network names
_NETWORK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def _check_types(obj: dict[str, Any], types: dict[str, tuple[type, ...]], where: str) -> None:
    for key, allowed in types.items():
        value = obj.get(key)
        if value is None:
            continue
        # bool is an int in Python; JSON true is never a valid number here
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = isinstance(value, allowed)
        if not ok:
            want = " or ".join("array" if t is list else "object" if t is dict else
                               "string" if t is str else "boolean" if t is bool else "number"
                               for t in allowed)
            raise InvalidParameter(
                f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                f"{where}.{key} of type {want}")


def check_types(body: dict[str, Any]) -> None:
    """The JSON decoder's type errors (Docker decodes the whole body before anything else)."""
    _check_types(body, _CONFIG_TYPES, "container.Config")
    host = body.get("HostConfig") or {}
    _check_types(host, _HOST_TYPES, "container.HostConfig")
    # map[string]string fields: a number there would be echoed by `ps`/`inspect` and break
    # every Go client's decoding of the whole list
    for where, obj, key in (("container.Config", body, "Labels"),
                            ("container.HostConfig", host, "Sysctls"),
                            ("container.HostConfig", host, "Tmpfs")):
        for k, v in (obj.get(key) or {}).items():
            if v is not None and not isinstance(v, str):  # Go decodes null as ""
                raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct "
                                       f"field {where}.{key} of type string")
    for u in host.get("Ulimits") or []:
        if not isinstance(u, dict):
            raise InvalidParameter("json: cannot unmarshal into Go struct field "
                                   "container.HostConfig.Ulimits of type units.Ulimit")
        _check_types(u, {"Name": (str,), "Soft": (int,), "Hard": (int,)}, "units.Ulimit")


def validate_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidParameter(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name.lstrip("/")


def _str_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"{field} must be a list of strings")
    return list(value)


def _workdir(path: str) -> str:
    if path and not path.startswith("/"):
        raise InvalidParameter(
            f"the working directory '{path}' is invalid, it needs to be an absolute path")
    return path


def merge_env(image_env: list[str], env: list[str]) -> list[str]:
    merged: dict[str, str] = {}
    for item in [*image_env, *env]:
        key = item.split("=", 1)[0]
        if not key:
            raise InvalidParameter(f"invalid environment variable: {item}")
        merged[key] = item
    return list(merged.values())


def build(body: Any, image_config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (Config, HostConfig) for the container, image defaults filled in."""
    if not isinstance(body, dict):
        raise InvalidParameter("config cannot be empty in order to create a container")
    _check_types(body, _CONFIG_TYPES, "container.Config")
    host = body.get("HostConfig") or {}
    _check_types(host, _HOST_TYPES, "container.HostConfig")
    img = image_config.get("config") or image_config.get("Config") or {}

    entrypoint = _str_list(body.get("Entrypoint"), "Entrypoint")
    cmd = _str_list(body.get("Cmd"), "Cmd")
    if entrypoint is None:
        entrypoint = img.get("Entrypoint")
        if cmd is None:
            cmd = img.get("Cmd")
    elif cmd is None and entrypoint == [""]:
        cmd = img.get("Cmd")
    if entrypoint == [""]:
        entrypoint = None
    if not (entrypoint or cmd):
        raise InvalidParameter("No command specified")

    env = merge_env(img.get("Env") or [], _str_list(body.get("Env"), "Env") or [])
    labels = {**(img.get("Labels") or {}), **(body.get("Labels") or {})}
    config = {
        "Hostname": body.get("Hostname") or "",
        "Domainname": body.get("Domainname") or "",
        "User": body.get("User") or img.get("User") or "",
        "AttachStdin": bool(body.get("AttachStdin")),
        "AttachStdout": bool(body.get("AttachStdout")),
        "AttachStderr": bool(body.get("AttachStderr")),
        "Tty": bool(body.get("Tty")),
        "OpenStdin": bool(body.get("OpenStdin")),
        "StdinOnce": bool(body.get("StdinOnce")),
        "Env": env,
        "Cmd": cmd,
        "Image": body.get("Image") or "",
        "Volumes": body.get("Volumes") or img.get("Volumes"),
        "WorkingDir": _workdir(body.get("WorkingDir") or img.get("WorkingDir") or ""),
        "Entrypoint": entrypoint,
        "OnBuild": img.get("OnBuild"),
        "Labels": labels,
    }
    if body.get("ExposedPorts") or img.get("ExposedPorts"):
        config["ExposedPorts"] = body.get("ExposedPorts") or img.get("ExposedPorts")
    health = healthlib.merge_config(body.get("Healthcheck"), img.get("Healthcheck"))
    healthlib.validate(health)
    if health:  # read by the health monitor (--no-healthcheck is Test ["NONE"])
        config["Healthcheck"] = health
    stop_signal = body.get("StopSignal") or img.get("StopSignal")
    if stop_signal:
        config["StopSignal"] = stop_signal
    if body.get("StopTimeout") is not None:
        config["StopTimeout"] = body["StopTimeout"]
    return config, _host_config(host)


_RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
_ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
            "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as")
_CPUSET_RE = re.compile(r"^(\d+(-\d+)?)(,\d+(-\d+)?)*$")


def _check_limits(host: dict[str, Any]) -> None:
    """What Docker refuses at create time, so that a bad value is a 400 and not a failed start."""
    policy = (host.get("RestartPolicy") or {}).get("Name") or ""
    if policy not in _RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy '{policy}'")
    for u in host.get("Ulimits") or []:
        if str(u.get("Name", "")).lower() not in _ULIMITS:
            raise InvalidParameter(f"invalid ulimit type: {u.get('Name')}")
        if int(u.get("Soft") or 0) > int(u.get("Hard") or 0):
            raise InvalidParameter(f"ulimit soft limit must be less than or equal to hard limit: "
                                   f"{u.get('Soft')} > {u.get('Hard')}")
    for key in ("CpusetCpus", "CpusetMems"):
        if host.get(key) and not _CPUSET_RE.match(host[key]):
            raise InvalidParameter(f"Invalid value {host[key]} for cpuset cpus")
    from ..linux.capnames import CAPABILITIES  # only names the host's kernel knows

    for cap in [*(host.get("CapAdd") or []), *(host.get("CapDrop") or [])]:
        name = cap.upper() if cap.upper().startswith("CAP_") else "CAP_" + cap.upper()
        if name != "CAP_ALL" and name not in CAPABILITIES:
            raise InvalidParameter(f'unknown capability: "{cap}"')


def _check_memory(host: dict[str, Any], memory: int) -> None:
    """Docker's checks of the memory and block I/O settings, with its messages."""
    swap = host.get("MemorySwap") or 0
    if swap > 0 and not memory:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap "
                               "limit, see usage")
    if swap > 0 and swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, "
                               "see usage")
    reservation = host.get("MemoryReservation") or 0
    if reservation and reservation < 6 * 1024 * 1024:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if memory and reservation > memory:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation "
                               "limit, see usage")
    weight = host.get("BlkioWeight") or 0
    if weight and not 10 <= weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")


def _host_config(host: dict[str, Any]) -> dict[str, Any]:
    mode = host.get("NetworkMode") or "default"
    if mode.startswith("container:"):
        if not mode.partition(":")[2]:
            raise InvalidParameter("Invalid network mode: invalid container format container:<name|id>")
    elif mode not in SUPPORTED_NETWORK_MODES and not _NETWORK_NAME_RE.match(mode):
        raise InvalidParameter(f"network {mode} not found")  # whether a name exists: network/
    for key in ("Memory", "PidsLimit", "CpuShares", "NanoCpus", "CpuQuota", "CpuPeriod"):
        if (host.get(key) or 0) < 0 and not (key == "PidsLimit" and host[key] == -1):
            raise InvalidParameter(f"invalid {key}: must not be negative")
    memory = host.get("Memory") or 0
    if memory and memory < 6 * 1024 * 1024:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    _check_memory(host, memory)
    if host.get("NanoCpus") and (host.get("CpuQuota") or host.get("CpuPeriod")):
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    _check_limits(host)
    from ..runtime import security  # seccomp profile, sysctls, devices, namespaces, init

    security.validate(host)
    merged = {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": mode, "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
        "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
        "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False,
        "SecurityOpt": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 64 * 1024 * 1024,
        "Runtime": "", "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": 0,
        "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0, "CpuPeriod": 0, "CpuQuota": 0,
        "CpusetCpus": "", "CpusetMems": "", "KernelMemory": 0, "MemoryReservation": 0,
        "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None,
        "Ulimits": None, "MaskedPaths": None, "ReadonlyPaths": None,
    }
    merged.update({k: v for k, v in host.items() if v is not None})
    merged["NetworkMode"] = mode
    return merged


_ADJECTIVES = ("admiring", "brave", "calm", "eager", "festive", "gifted", "happy", "jolly",
               "keen", "lucid", "modest", "nifty", "quirky", "serene", "tender", "vibrant",
               "wizardly", "zealous", "bold", "cool")
_NAMES = ("archimedes", "babbage", "curie", "darwin", "euler", "fermi", "galileo", "hopper",
          "kepler", "lovelace", "meitner", "noether", "pascal", "ritchie", "shannon", "tesla",
          "turing", "wozniak", "yalow", "zhukovsky")


def random_name(taken: set[str]) -> str:
    for attempt in range(1000):
        name = f"{random.choice(_ADJECTIVES)}_{random.choice(_NAMES)}"
        if attempt > 10:
            name += str(random.randint(0, 99))
        if name not in taken:
            return name
    raise InvalidParameter("could not generate a container name")
