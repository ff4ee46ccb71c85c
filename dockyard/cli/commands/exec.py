"""`exec`: run a command in a running container (attached with -i/-t, or detached with -d)."""
from __future__ import annotations

import sys
from typing import Any

import click

from dockyard.cli.client import CLIError
from dockyard.cli.commands.common import get_client
from dockyard.cli.hijack import RawTerminal, forward_stdin, hijack, monitor_tty_size, parse_detach_keys
from dockyard.cli.streams import SystemFailure

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


@click.command(name="exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@click.option("--detach-keys", help="Override the key sequence for detaching a container")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
@click.option("-w", "--workdir", help="Working directory inside the container")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(detach: bool, detach_keys: str | None, env: tuple[str, ...], interactive: bool, privileged: bool,
          tty: bool, user: str | None, workdir: str | None, container: str, command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    keys = parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)
    client = get_client()
    body: dict[str, Any] = {
        "User": user or "", "Privileged": privileged, "Tty": tty, "AttachStdin": interactive and not detach,
        "AttachStdout": not detach, "AttachStderr": not detach, "Detach": detach, "Cmd": list(command),
        "Env": [e if "=" in e else _from_environ(e) for e in env], "WorkingDir": workdir or "",
        "DetachKeys": detach_keys or "",
    }
    exec_id = client.post(f"/containers/{container}/exec", None, body)["Id"]
    if detach:
        client.post(f"/exec/{exec_id}/start", None, {"Detach": True, "Tty": tty})
        return
    import json
    conn = hijack(client, f"/exec/{exec_id}/start", body=json.dumps({"Detach": False, "Tty": tty}).encode(),
                  multiplexed=not tty)
    with RawTerminal(sys.stdin.fileno()) if (tty and interactive) else _Null():
        if tty:
            monitor_tty_size(lambda h, w: client.post(f"/exec/{exec_id}/resize", {"h": h, "w": w}))
        if interactive:
            forward_stdin(conn, detach_keys=keys if tty else b"")
        try:
            conn.copy_output()
        except SystemFailure as exc:
            raise CLIError(str(exc), 126) from None
        finally:
            conn.close()
    if conn.detached:
        return
    code = (client.get(f"/exec/{exec_id}/json") or {}).get("ExitCode")
    raise SystemExit(126 if code is None else int(code))


def _from_environ(name: str) -> str:
    import os
    return f"{name}={os.environ[name]}" if name in os.environ else name


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


COMMANDS = [exec_]
