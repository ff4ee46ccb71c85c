"""`run`/`create` flags and their mapping to a POST /containers/create body (pure functions)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from dockyard.cli.client import CLIError
from dockyard.cli.humanize import ram_in_bytes


@dataclass
class CreateOptions:
    image: str = ""
    command: tuple[str, ...] = ()
    name: str | None = None
    detach: bool = False
    rm: bool = False
    env: tuple[str, ...] = ()
    env_file: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    network: str | None = None
    network_alias: tuple[str, ...] = ()
    ip: str | None = None
    memory: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    shm_size: str | None = None
    pids_limit: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    label: tuple[str, ...] = ()
    interactive: bool = False
    tty: bool = False
    attach: tuple[str, ...] = ()
    restart: str | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    init: bool | None = None
    volume: tuple[str, ...] = ()
    mount: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    expose: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    add_host: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    group_add: tuple[str, ...] = ()
    log_driver: str | None = None
    log_opt: tuple[str, ...] = ()
    sysctl: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    ulimit: tuple[str, ...] = ()
    health_cmd: str | None = None
    health_interval: str | None = None
    health_timeout: str | None = None
    health_retries: int | None = None
    health_start_period: str | None = None
    no_healthcheck: bool = False
    device: tuple[str, ...] = ()
    blkio_weight: int | None = None
    oom_kill_disable: bool = False
    volumes_from: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> "CreateOptions":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in kwargs.items() if k in known})


def parse_env(values: tuple[str, ...] | list[str], environ: dict[str, str] | None = None) -> list[str]:
    """-e K=V as is; -e K takes K from our environment when set (docker's ValidateEnv)."""
    env = os.environ if environ is None else environ
    out = []
    for value in values:
        key, has_value, _ = value.partition("=")
        if not key:
            raise CLIError(f"invalid environment variable: {value}")
        if has_value:
            out.append(value)
        elif key in env:
            out.append(f"{key}={env[key]}")
        else:
            out.append(value)
    return out


def read_env_file(path: str, environ: dict[str, str] | None = None) -> list[str]:
    """--env-file: one variable a line, blank lines and # comments skipped."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise CLIError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    values = []
    for line in lines:
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key = line.split("=", 1)[0]
        if re.search(r"\s", key):
            raise CLIError(f"variable '{key}' contains whitespaces")
        values.append(line)
    return parse_env(values, environ)


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for value in values:
        key, _, val = value.partition("=")
        labels[key] = val
    return labels


def parse_restart(policy: str | None) -> dict[str, Any] | None:
    """no | always | unless-stopped | on-failure[:max-retries]."""
    if policy is None:
        return None
    name, _, count = policy.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure", ""):
        raise CLIError(f"invalid restart policy '{name}'")
    if count and name != "on-failure":
        raise CLIError(f"maximum retry count cannot be used with restart policy '{name}'")
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise CLIError(f"maximum retry count must be an integer: {count}") from None
    return {"Name": name, "MaximumRetryCount": retries}


def parse_port(spec: str) -> tuple[str, list[dict[str, str]]]:
    """-p [ip:][hostPort:]containerPort[/proto] -> ("80/tcp", [{"HostIp", "HostPort"}])."""
    proto = "tcp"
    if "/" in spec:
        spec, proto = spec.rsplit("/", 1)
    host_ip = ""
    if spec.startswith("["):
        end = spec.index("]")
        host_ip, spec = spec[1:end], spec[end + 2:]
    parts = spec.split(":")
    if len(parts) == 1:
        host_port, container = "", parts[0]
    elif len(parts) == 2:
        host_port, container = parts
    elif len(parts) == 3:
        host_ip, host_port, container = parts
    else:
        raise CLIError(f"invalid port format: {spec}")
    if not re.fullmatch(r"\d+(-\d+)?", container) or (host_port and not re.fullmatch(r"\d+(-\d+)?", host_port)):
        raise CLIError(f"invalid containerPort: {container}")
    return f"{container}/{proto}", [{"HostIp": host_ip, "HostPort": host_port}]


def parse_mount(spec: str) -> dict[str, Any]:
    """--mount type=bind,source=/a,target=/b,readonly -> a Mount object."""
    mount: dict[str, Any] = {"Type": "volume"}
    for item in spec.split(","):
        key, has_value, value = item.partition("=")
        key = key.strip().lower()
        if key == "type":
            mount["Type"] = value
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "destination", "dst"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = (not has_value) or value.lower() in ("1", "true")
        elif key == "bind-propagation":
            mount.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "volume-nocopy":
            mount.setdefault("VolumeOptions", {})["NoCopy"] = (not has_value) or value.lower() in ("1", "true")
        elif key == "tmpfs-size":
            mount.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_in_bytes(value)
        elif key == "tmpfs-mode":
            mount.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        else:
            raise CLIError(f"unexpected key '{key}' in '{item}'")
    if "Target" not in mount:
        raise CLIError("target is required")
    return mount


def parse_volumes(values: tuple[str, ...]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """-v SRC:DST[:opts] become Binds; an anonymous -v /data becomes Config.Volumes."""
    binds: list[str] = []
    anonymous: dict[str, dict[str, Any]] = {}
    for value in values:
        if ":" in value:
            binds.append(value)
        else:
            anonymous[value] = {}
    return binds, anonymous


def parse_device(spec: str) -> dict[str, str]:
    """--device HOST[:CONTAINER][:PERMISSIONS]."""
    parts = spec.split(":")
    perms = "rwm"
    if len(parts) > 1 and parts[-1] and set(parts[-1]) <= set("rwm") and not parts[-1].startswith("/"):
        perms = parts.pop()
    if len(parts) > 2 or not parts[0]:
        raise CLIError(f"invalid device specification: {spec}")
    return {"PathOnHost": parts[0], "PathInContainer": parts[1] if len(parts) > 1 else parts[0],
            "CgroupPermissions": perms}


def read_seccomp_file(opt: str) -> str:
    """seccomp=FILE: the CLI sends the profile's JSON, as docker does (the daemon never reads it)."""
    key, _, value = opt.partition("=")
    if key != "seccomp" or value in ("unconfined", "builtin", ""):
        return opt
    try:
        with open(value, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise CLIError(f"opening seccomp profile ({value}) failed: {exc.strerror}") from None
    return f"seccomp={text}"


def _duration_ns(value: str | None, flag: str) -> int:
    if not value:
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", value)
    if not m:
        raise CLIError(f'invalid argument "{value}" for "{flag}" flag: time: invalid duration "{value}"')
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[m.group(2)]
    return int(float(m.group(1)) * scale)


def parse_health(opts: "CreateOptions") -> dict[str, Any] | None:
    """--health-* and --no-healthcheck -> Config.Healthcheck (None: the image's)."""
    tuned = any(v is not None for v in (opts.health_interval, opts.health_timeout, opts.health_retries,
                                         opts.health_start_period))
    if opts.no_healthcheck:
        if opts.health_cmd or tuned:
            raise CLIError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not opts.health_cmd and not tuned:
        return None
    health: dict[str, Any] = {"Test": ["CMD-SHELL", opts.health_cmd] if opts.health_cmd else None}
    for key, value, flag in (("Interval", opts.health_interval, "--health-interval"),
                             ("Timeout", opts.health_timeout, "--health-timeout"),
                             ("StartPeriod", opts.health_start_period, "--health-start-period")):
        ns = _duration_ns(value, flag)
        if ns:
            health[key] = ns
    if opts.health_retries is not None:
        if opts.health_retries < 0:
            raise CLIError("--health-retries cannot be negative")
        health["Retries"] = opts.health_retries
    return health


def _ulimit(spec: str) -> dict[str, Any]:
    name, _, limits = spec.partition("=")
    soft, _, hard = limits.partition(":")
    try:
        return {"Name": name, "Soft": int(soft), "Hard": int(hard or soft)}
    except ValueError:
        raise CLIError(f"invalid ulimit argument: {spec}") from None


def _size(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    if value == "-1":
        return -1
    try:
        return ram_in_bytes(value)
    except ValueError:
        raise CLIError(f"invalid argument \"{value}\" for \"{flag}\" flag: invalid size: '{value}'") from None


def build_create_body(opts: CreateOptions, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON body of POST /containers/create that `docker run`/`create` would send."""
    if opts.rm and opts.restart and opts.restart not in ("no", ""):
        raise CLIError("Conflicting options: cannot specify both --restart and --rm")
    env: list[str] = []
    for path in opts.env_file:
        env += read_env_file(path, environ)
    env += parse_env(opts.env, environ)

    attach = {s.lower() for s in opts.attach}
    bad = attach - {"stdin", "stdout", "stderr"}
    if bad:
        raise CLIError(f"invalid argument \"{sorted(bad)[0]}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")
    attach_stdin = "stdin" in attach or opts.interactive
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach
    if opts.detach:
        attach_stdin = attach_stdout = attach_stderr = False

    exposed: dict[str, dict[str, Any]] = {p if "/" in p else f"{p}/tcp": {} for p in opts.expose}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts.publish:
        port, binding = parse_port(spec)
        exposed[port] = {}
        bindings.setdefault(port, []).extend(binding)

    binds, anonymous = parse_volumes(opts.volume)
    config: dict[str, Any] = {
        "Hostname": opts.hostname or "",
        "Domainname": opts.domainname or "",
        "User": opts.user or "",
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "StdinOnce": attach_stdin and opts.interactive,
        "Env": env,
        "Cmd": list(opts.command) if opts.command else None,
        "Image": opts.image,
        "Volumes": anonymous or None,
        "WorkingDir": opts.workdir or "",
        "Entrypoint": None if opts.entrypoint is None else ([opts.entrypoint] if opts.entrypoint else [""]),
        "Labels": parse_labels(opts.label),
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if opts.stop_timeout is not None:
        config["StopTimeout"] = opts.stop_timeout
    health = parse_health(opts)
    if health is not None:
        config["Healthcheck"] = health

    host: dict[str, Any] = {
        "Binds": binds or None,
        "NetworkMode": opts.network or "default",
        "PortBindings": bindings,
        "RestartPolicy": parse_restart(opts.restart) or {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": opts.rm,
        "Privileged": opts.privileged,
        "PublishAllPorts": opts.publish_all,
        "ReadonlyRootfs": opts.read_only,
        "CapAdd": list(opts.cap_add) or None,
        "CapDrop": list(opts.cap_drop) or None,
        "ExtraHosts": list(opts.add_host) or None,
        "Dns": list(opts.dns),
        "GroupAdd": list(opts.group_add) or None,
        "SecurityOpt": list(opts.security_opt) or None,
        "Mounts": [parse_mount(m) for m in opts.mount] or None,
        "Memory": _size(opts.memory, "-m, --memory") or 0,
        "NanoCpus": int(round(opts.cpus * 1e9)) if opts.cpus else 0,
        "CpuShares": opts.cpu_shares or 0,
        "CpusetCpus": opts.cpuset_cpus or "",
        "LogConfig": {"Type": opts.log_driver or "", "Config": dict(o.split("=", 1) for o in opts.log_opt if "=" in o)},
    }
    if opts.memory_swap is not None:
        host["MemorySwap"] = _size(opts.memory_swap, "--memory-swap")
    if opts.memory_reservation is not None:
        host["MemoryReservation"] = _size(opts.memory_reservation, "--memory-reservation")
    if opts.shm_size is not None:
        host["ShmSize"] = _size(opts.shm_size, "--shm-size")
    if opts.pids_limit is not None:
        host["PidsLimit"] = opts.pids_limit
    if opts.init is not None:
        host["Init"] = opts.init
    if opts.ipc:
        host["IpcMode"] = opts.ipc
    if opts.pid:
        host["PidMode"] = opts.pid
    if opts.uts:
        host["UTSMode"] = opts.uts
    if opts.tmpfs:
        host["Tmpfs"] = {t.split(":", 1)[0]: (t.split(":", 1)[1] if ":" in t else "") for t in opts.tmpfs}
    if opts.sysctl:
        host["Sysctls"] = dict(s.split("=", 1) for s in opts.sysctl if "=" in s)
    if opts.ulimit:
        host["Ulimits"] = [_ulimit(u) for u in opts.ulimit]
    if opts.device:
        host["Devices"] = [parse_device(d) for d in opts.device]
    if opts.blkio_weight:
        host["BlkioWeight"] = opts.blkio_weight
    if opts.oom_kill_disable:
        host["OomKillDisable"] = True
    if opts.volumes_from:
        host["VolumesFrom"] = list(opts.volumes_from)
    if opts.security_opt:
        host["SecurityOpt"] = [read_seccomp_file(o) for o in opts.security_opt]

    networking: dict[str, Any] = {"EndpointsConfig": {}}
    if opts.network and opts.network not in ("default", "bridge", "host", "none") \
            and not opts.network.startswith("container:"):
        endpoint: dict[str, Any] = {}
        if opts.network_alias:
            endpoint["Aliases"] = list(opts.network_alias)
        if opts.ip:
            endpoint["IPAMConfig"] = {"IPv4Address": opts.ip}
        networking["EndpointsConfig"][opts.network] = endpoint
    elif opts.network_alias or opts.ip:
        what = "--network-alias" if opts.network_alias else "--ip"
        raise CLIError(f"{what} is supported only for containers in user defined networks")
    return {**config, "HostConfig": host, "NetworkingConfig": networking}

