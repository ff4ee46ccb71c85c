"""Instructions that only change the image config: ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR, CMD,
ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER, ARG (Docker 20.10's rules).

Each returns the history comment Docker writes for it ("ENV A=1"), which also keys the cache.
"""
from __future__ import annotations

import json
import posixpath
import signal as signals

from ..images.config import apply_changes
from .dockerfile import Instruction
from .shell import expand
from .state import StageState


class StepError(Exception):
    """A step that fails while the build runs (the message goes to the client in the stream)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def go_quote_list(items: list[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def _x(state: StageState, word: str) -> str:
    try:
        return expand(word, state.env(), state.escape)
    except ValueError as e:
        raise StepError(str(e)) from None


def _pairs(state: StageState, inst: Instruction) -> list[tuple[str, str]]:
    a = inst.args
    return [(_x(state, a[i]), _x(state, a[i + 1]) if i + 1 < len(a) else "") for i in range(0, len(a), 2)]


def command_form(state: StageState, inst: Instruction) -> list[str]:
    """CMD/ENTRYPOINT/RUN words: the JSON array, or the current SHELL around the text."""
    if inst.json:
        return list(inst.args)
    text = " ".join(inst.args)
    return [*state.shell, text]


def dispatch(state: StageState, inst: Instruction) -> str:
    cfg = state.config
    name = inst.name
    if name == "ENV":
        env = list(cfg.get("Env") or [])
        words = []
        for key, value in _pairs(state, inst):
            entry = f"{key}={value}"
            words.append(entry)
            for i, e in enumerate(env):
                if e.partition("=")[0] == key:
                    env[i] = entry
                    break
            else:
                env.append(entry)
            cfg["Env"] = env  # later pairs of one ENV see the earlier ones
        return "ENV " + " ".join(words)
    if name == "LABEL":
        labels = dict(cfg.get("Labels") or {})
        words = []
        for key, value in _pairs(state, inst):
            if not key:
                raise StepError("LABEL names can not be blank")
            labels[key] = value
            words.append(f"{key}={value}")
        cfg["Labels"] = labels
        return "LABEL " + " ".join(words)
    if name == "EXPOSE":
        ports = [_x(state, p) for p in inst.args]
        exposed = dict(cfg.get("ExposedPorts") or {})
        for spec in ports:
            for key in _port_keys(spec):
                exposed[key] = {}
        cfg["ExposedPorts"] = exposed
        return "EXPOSE " + " ".join(ports)
    if name == "VOLUME":
        paths = [_x(state, p) for p in inst.args]
        vols = dict(cfg.get("Volumes") or {})
        for p in paths:
            if not p.strip():
                raise StepError("VOLUME specified can not be an empty string")
            vols[p] = {}
        cfg["Volumes"] = vols
        return "VOLUME [" + " ".join(paths) + "]"
    if name == "USER":
        cfg["User"] = _x(state, inst.args[0])
        return "USER " + cfg["User"]
    if name == "WORKDIR":
        path = _x(state, inst.args[0])
        if not path.startswith("/"):
            path = posixpath.join("/", cfg.get("WorkingDir") or "/", path)
        cfg["WorkingDir"] = posixpath.normpath(path)
        return "WORKDIR " + cfg["WorkingDir"]
    if name == "CMD":
        cfg["Cmd"] = command_form(state, inst)
        state.cmd_set = True
        return "CMD " + go_quote_list(cfg["Cmd"])
    if name == "ENTRYPOINT":
        entrypoint = command_form(state, inst)
        if not inst.json and not " ".join(inst.args).strip():
            entrypoint = []
        cfg["Entrypoint"] = entrypoint or None
        if not state.cmd_set:
            cfg["Cmd"] = None  # an ENTRYPOINT resets a CMD inherited from the base image
        return "ENTRYPOINT " + go_quote_list(entrypoint)
    if name == "SHELL":
        if not inst.args:
            raise StepError("SHELL requires at least one argument")
        cfg["Shell"] = list(inst.args)
        return "SHELL [" + " ".join(inst.args) + "]"
    if name == "STOPSIGNAL":
        sig = _x(state, inst.args[0])
        _check_signal(sig)
        cfg["StopSignal"] = sig
        return "STOPSIGNAL " + sig
    if name == "HEALTHCHECK":
        return _healthcheck(state, inst)
    if name == "ONBUILD":
        cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), inst.trigger]
        return "ONBUILD " + inst.trigger
    if name == "MAINTAINER":
        state.author = _x(state, inst.args[0])
        return "MAINTAINER " + state.author
    if name == "ARG":
        key, eq, default = inst.args[0].partition("=")
        state.declare(key, _x(state, default) if eq else None)
        return "ARG " + key + (f"={state.args[key]}" if eq else "")
    raise StepError(f"unknown instruction: {name}")


def _port_keys(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    lo, dash, hi = port.partition("-")
    if not lo.isdigit() or (dash and not hi.isdigit()) or proto not in ("tcp", "udp", "sctp"):
        raise StepError(f"Invalid containerPort: {port}" if proto in ("tcp", "udp", "sctp")
                        else f"Invalid proto: {proto}")
    first, last = int(lo), int(hi) if dash else int(lo)
    if last < first or last > 65535:
        raise StepError(f"Invalid range format for --expose: {spec}")
    return [f"{p}/{proto}" for p in range(first, last + 1)]


def _check_signal(sig: str) -> None:
    if sig.isdigit():
        if 0 < int(sig) < signals.NSIG:
            return
    else:
        name = sig.upper() if sig.upper().startswith("SIG") else "SIG" + sig.upper()
        if hasattr(signals.Signals, name) or name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
            return
    raise StepError(f"Invalid signal: {sig}")


def _go_duration(ns: int) -> str:
    if ns == 0:
        return "0s"
    secs, rest = divmod(ns, 1_000_000_000)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    frac = f".{rest:09d}".rstrip("0") if rest else ""
    out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}{frac}s"
    return out


def _healthcheck(state: StageState, inst: Instruction) -> str:
    rest = inst.original.split(None, 1)[1] if len(inst.original.split(None, 1)) > 1 else ""
    probe: dict = {}
    try:
        apply_changes(probe, ["HEALTHCHECK " + rest])
    except Exception as e:  # InvalidParameter: a bad flag or duration
        raise StepError(getattr(e, "message", str(e))) from None
    health = probe["Healthcheck"]
    state.config["Healthcheck"] = health
    if health["Test"] == ["NONE"]:
        return 'HEALTHCHECK &{["NONE"] "0s" "0s" "0s" \'\\x00\'}'
    return "HEALTHCHECK &{%s %s %s %s '\\x%02x'}" % (
        go_quote_list(health["Test"]), json.dumps(_go_duration(health.get("Interval", 0))),
        json.dumps(_go_duration(health.get("Timeout", 0))),
        json.dumps(_go_duration(health.get("StartPeriod", 0))), health.get("Retries", 0))
