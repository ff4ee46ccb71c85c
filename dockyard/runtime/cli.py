"""`dockyard-runtime`: runc's command line on top of the built-in runtime, so either can drive a bundle."""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys

from ..errors import RuntimeCreateError, RuntimeFailure
from ..timefmt import rfc3339_ns
from . import builtin

DEFAULT_ROOT = "/run/dockyard-runtime"


def _signal(s: str) -> int:
    if s.isdigit():
        return int(s)
    name = s.upper() if s.upper().startswith("SIG") else "SIG" + s.upper()
    return int(getattr(signal, name))


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dockyard-runtime")
    ap.add_argument("--root", default=DEFAULT_ROOT)
    ap.add_argument("--log", default="")
    ap.add_argument("--log-format", default="text", choices=["text", "json"])
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--systemd-cgroup", action="store_true")
    sub = ap.add_subparsers(dest="verb", required=True)
    for verb in ("create", "run"):
        p = sub.add_parser(verb)
        p.add_argument("--bundle", "-b", default=".")
        p.add_argument("--pid-file", default="")
        p.add_argument("--console-socket", default="")
        p.add_argument("--no-pivot", action="store_true")
        p.add_argument("--no-new-keyring", action="store_true")
        if verb == "run":
            p.add_argument("--detach", "-d", action="store_true")
        p.add_argument("id")
    p = sub.add_parser("exec")
    p.add_argument("--process", "-p", default="", help="path to a process.json (OCI `process`)")
    p.add_argument("--console-socket", default="")
    p.add_argument("--pid-file", default="")
    p.add_argument("--detach", "-d", action="store_true")
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("--cwd", default="")
    p.add_argument("--env", "-e", action="append", default=[])
    p.add_argument("id")
    p.add_argument("command", nargs=argparse.REMAINDER)
    for verb in ("start", "state"):
        sub.add_parser(verb).add_argument("id")
    p = sub.add_parser("kill")
    p.add_argument("--all", "-a", action="store_true")
    p.add_argument("id")
    p.add_argument("signal", nargs="?", default="SIGTERM")
    p = sub.add_parser("delete")
    p.add_argument("--force", "-f", action="store_true")
    p.add_argument("id")
    return ap


def _console(path: str) -> socket.socket | None:
    """runc's protocol: the container's pty master travels to the caller over this socket (SCM_RIGHTS)."""
    if not path:
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def _create(a: argparse.Namespace) -> int:
    sock = _console(a.console_socket)
    try:
        pid = builtin.create(a.id, a.bundle, a.root, (0, 1, 2),
                             console_socket=sock.fileno() if sock else None)
    finally:
        if sock is not None:
            sock.close()
    if a.pid_file:
        tmp = a.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, a.pid_file)
    return pid


def _exec(a: argparse.Namespace) -> int:
    """runc's `exec`: a process.json, or a command line with -e/--cwd/-t on top of the container's own process."""
    if a.process:
        with open(a.process) as f:
            process = json.load(f)
    else:
        if not a.command:
            raise ValueError("exec needs --process or a command")
        st = builtin.state(a.id, a.root)
        with open(os.path.join(st["bundle"], "config.json")) as f:
            process = dict(json.load(f).get("process") or {})
        process.update(args=a.command, terminal=a.tty, env=list(process.get("env") or []) + a.env)
        if a.cwd:
            process["cwd"] = a.cwd
    sock = _console(a.console_socket) if process.get("terminal") else None
    try:
        pid = builtin.exec_(a.id, a.root, process, (0, 1, 2), console_socket=sock.fileno() if sock else None)
    finally:
        if sock is not None:
            sock.close()
    if a.pid_file:
        tmp = a.pid_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.rename(tmp, a.pid_file)
    if a.detach:
        return 0
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _run(a: argparse.Namespace) -> int:
    if not a.detach:
        # We wait for the container ourselves; make sure it stays our child if a runtime fork reparents.
        from ..linux.process import set_child_subreaper
        set_child_subreaper()
    pid = _create(a)
    builtin.start(a.id, a.root)
    if a.detach:
        return 0
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda n, _f: os.kill(pid, n))  # forward, as runc does
    _, status = os.waitpid(pid, 0)
    builtin.delete(a.id, a.root, force=True)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _log_error(a: argparse.Namespace, msg: str) -> None:
    if a.log_format == "json":
        line = json.dumps({"level": "error", "msg": msg, "time": rfc3339_ns(digits=0)})
    else:
        line = f'time="{rfc3339_ns(digits=0)}" level=error msg="{msg}"'
    if a.log:
        with open(a.log, "a") as f:
            f.write(line + "\n")
    print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    a = _parser().parse_args(argv)
    try:
        if a.verb == "create":
            _create(a)
        elif a.verb == "run":
            sys.exit(_run(a))
        elif a.verb == "exec":
            sys.exit(_exec(a))
        elif a.verb == "start":
            builtin.start(a.id, a.root)
        elif a.verb == "state":
            print(json.dumps(builtin.state(a.id, a.root), indent=2))
        elif a.verb == "kill":
            builtin.kill(a.id, a.root, _signal(a.signal), a.all)
        elif a.verb == "delete":
            builtin.delete(a.id, a.root, a.force)
    except RuntimeCreateError as e:
        _log_error(a, f"{a.verb} failed: unable to start container process: {e.message}")
        sys.exit(255 if a.verb == "exec" else 1)
    except (RuntimeFailure, OSError, ValueError, AttributeError) as e:
        _log_error(a, str(e))
        sys.exit(1)


if __name__ == "__main__":
    main()
