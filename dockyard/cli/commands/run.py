"""`run`, `create` and `start`: create (pulling if missing), attach, start, wait, exit with the container's code."""
from __future__ import annotations

import json
import signal
import sys
from typing import Any, Callable

import click

from dockyard.cli import references
from dockyard.cli.client import APIError, CLIError, Client
from dockyard.cli.commands.common import for_each, get_client, show_json_stream
from dockyard.cli.createopts import CreateOptions, build_create_body
from dockyard.cli.hijack import (Hijacked, RawTerminal, forward_stdin, hijack, monitor_tty_size,
                                 parse_detach_keys)
from dockyard.cli.streams import SystemFailure

MULTI: dict[str, Any] = {"multiple": True}
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def create_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The flags `run` and `create` share (docker's names)."""
    options = [
        click.option("--name", help="Assign a name to the container"),
        click.option("--rm", is_flag=True, help="Automatically remove the container when it exits"),
        click.option("-e", "--env", **MULTI, help="Set environment variables"),
        click.option("--env-file", **MULTI, help="Read in a file of environment variables"),
        click.option("-w", "--workdir", help="Working directory inside the container"),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
        click.option("-h", "--hostname", help="Container host name"),
        click.option("--domainname", help="Container NIS domain name"),
        click.option("--network", "--net", "network", help="Connect a container to a network"),
        click.option("--network-alias", **MULTI, help="Add network-scoped alias for the container"),
        click.option("--ip", help="IPv4 address (e.g., 172.30.100.104)"),
        click.option("-m", "--memory", help="Memory limit"),
        click.option("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
        click.option("--memory-reservation", help="Memory soft limit"),
        click.option("--shm-size", help="Size of /dev/shm"),
        click.option("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)"),
        click.option("--cpus", type=float, help="Number of CPUs"),
        click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)"),
        click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
        click.option("-l", "--label", **MULTI, help="Set meta data on a container"),
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
        click.option("-a", "--attach", **MULTI, help="Attach to STDIN, STDOUT or STDERR"),
        click.option("--restart", help="Restart policy to apply when a container exits"),
        click.option("--stop-signal", help="Signal to stop the container"),
        click.option("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container"),
        click.option("--init", is_flag=True, default=None, help="Run an init inside the container"),
        click.option("-v", "--volume", **MULTI, help="Bind mount a volume"),
        click.option("--mount", **MULTI, help="Attach a filesystem mount to the container"),
        click.option("--tmpfs", **MULTI, help="Mount a tmpfs directory"),
        click.option("-p", "--publish", **MULTI, help="Publish a container's port(s) to the host"),
        click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports"),
        click.option("--expose", **MULTI, help="Expose a port or a range of ports"),
        click.option("--privileged", is_flag=True, help="Give extended privileges to this container"),
        click.option("--read-only", is_flag=True, help="Mount the container's root filesystem as read only"),
        click.option("--cap-add", **MULTI, help="Add Linux capabilities"),
        click.option("--cap-drop", **MULTI, help="Drop Linux capabilities"),
        click.option("--add-host", **MULTI, help="Add a custom host-to-IP mapping (host:ip)"),
        click.option("--dns", **MULTI, help="Set custom DNS servers"),
        click.option("--ipc", help="IPC mode to use"),
        click.option("--pid", help="PID namespace to use"),
        click.option("--uts", help="UTS namespace to use"),
        click.option("--group-add", **MULTI, help="Add additional groups to join"),
        click.option("--log-driver", help="Logging driver for the container"),
        click.option("--log-opt", **MULTI, help="Log driver options"),
        click.option("--sysctl", **MULTI, help="Sysctl options"),
        click.option("--security-opt", **MULTI, help="Security Options"),
        click.option("--ulimit", **MULTI, help="Ulimit options"),
        click.option("--health-cmd", help="Command to run to check health"),
        click.option("--health-interval", help="Time between running the check (ms|s|m|h)"),
        click.option("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h)"),
        click.option("--health-retries", type=int, help="Consecutive failures needed to report unhealthy"),
        click.option("--health-start-period", help="Start period for the container to initialize"),
        click.option("--no-healthcheck", is_flag=True, help="Disable any container-specified HEALTHCHECK"),
        click.option("--device", **MULTI, help="Add a host device to the container"),
        click.option("--blkio-weight", type=int, help="Block IO (relative weight), between 10 and 1000"),
        click.option("--oom-kill-disable", is_flag=True, help="Disable OOM Killer"),
        click.option("--volumes-from", **MULTI, help="Mount volumes from the specified container(s)"),
        click.option("--runtime", help="Runtime to use for this container"),
        click.argument("image"),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


# ----------------------------------------------------------------- create

def pull_image(client: Client, image: str, out: Any = None) -> None:
    """POST /images/create?fromImage=&tag= and show its progress."""
    name, tag = references.tagged(image)
    resp = client.request("POST", "/images/create", {"fromImage": name, "tag": tag})
    try:
        show_json_stream(resp, out or sys.stderr)
    finally:
        resp.close()


def create_container(client: Client, opts: CreateOptions, runtime: str | None = None) -> str:
    """Create, pulling the image once if the daemon does not have it; print warnings; return the ID."""
    body = build_create_body(opts)
    if runtime:
        body.setdefault("HostConfig", {})["Runtime"] = runtime
    params = {"name": opts.name} if opts.name else None
    try:
        result = client.post("/containers/create", params, body)
    except APIError as exc:
        if exc.status_code != 404 or "image" not in exc.explanation.lower():
            raise
        references.validate(opts.image)
        click.echo(f"Unable to find image '{references.familiar_tagged(opts.image)}' locally", err=True)
        pull_image(client, opts.image)
        result = client.post("/containers/create", params, body)
    for warning in result.get("Warnings") or []:
        click.echo(f"WARNING: {warning}", err=True)
    return str(result["Id"])


def start_error_status(message: str) -> int:
    """docker's exit codes for a failed start: 127 not found, 126 not executable, 125 otherwise."""
    if any(s in message for s in ("executable file not found", "no such file or directory",
                                  "system cannot find the file specified")):
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


# ----------------------------------------------------------------- attach + start + wait

class _SignalProxy:
    """Forward the signals we receive to the container (docker's --sig-proxy)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)

    def __init__(self, client: Client, container: str) -> None:
        self.client, self.container = client, container
        self.saved = {s: signal.signal(s, self._forward) for s in self.SIGNALS}

    def _forward(self, signum: int, _frame: Any) -> None:
        try:
            self.client.post(f"/containers/{self.container}/kill", {"signal": signal.Signals(signum).name})
        except CLIError:
            pass

    def restore(self) -> None:
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)


def attach_start_wait(client: Client, container: str, *, tty: bool, stdin: bool, stdout: bool = True,
                      stderr: bool = True, auto_remove: bool = False, start: bool = True,
                      sig_proxy: bool = True, detach_keys: str | None = None, escape_is_error: bool = False) -> int:
    """Attach, ask for the exit status, start, copy the streams; return the exit code (0 if detached)."""
    keys = parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS)
    params = {"stream": 1, "stdin": int(stdin), "stdout": int(stdout), "stderr": int(stderr),
              "detachKeys": detach_keys}
    conn: Hijacked = hijack(client, f"/containers/{container}/attach", params, multiplexed=not tty)
    condition = "removed" if auto_remove else ("next-exit" if start else "not-running")
    wait_conn, _ = client.send("POST", f"/containers/{container}/wait", {"condition": condition})
    wait_resp = client.receive(wait_conn)
    proxy = None
    with RawTerminal(sys.stdin.fileno()) if (tty and stdin) else _Null():
        if start:
            try:
                client.post(f"/containers/{container}/start")
            except APIError as exc:
                conn.close()
                wait_conn.close()
                if auto_remove:
                    _remove_quietly(client, container)
                raise CLIError(exc.message, start_error_status(exc.explanation)) from None
        if tty:
            monitor_tty_size(lambda h, w: client.post(f"/containers/{container}/resize", {"h": h, "w": w}))
        elif sig_proxy:
            proxy = _SignalProxy(client, container)
        if stdin:
            forward_stdin(conn, detach_keys=keys if tty else b"")
        try:
            conn.copy_output()
        except SystemFailure as exc:
            raise CLIError(str(exc), 125) from None
        finally:
            conn.close()
    if conn.detached:
        wait_conn.close()
        if proxy:
            proxy.restore()
        if escape_is_error:  # docker attach reports a detach this way
            raise CLIError("read escape sequence")
        return 0
    try:
        result = json.loads(wait_resp.read() or b"{}")
    finally:
        wait_conn.close()
        if proxy:
            proxy.restore()
    error = (result.get("Error") or {}).get("Message")
    if error:
        click.echo(error, err=True)
    return int(result.get("StatusCode", 125))


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _remove_quietly(client: Client, container: str) -> None:
    try:
        client.delete(f"/containers/{container}", {"force": 1})
    except CLIError:
        pass


# ----------------------------------------------------------------- commands

@click.command(context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print container ID")
@click.option("--sig-proxy", type=click.BOOL, default=True, help="Proxy received signals to the process")
@click.option("--detach-keys", help="Override the key sequence for detaching a container")
@create_options
def run(sig_proxy: bool, detach_keys: str | None, **kwargs: Any) -> None:
    """Create and run a new container from an image."""
    if detach_keys:
        parse_detach_keys(detach_keys)
    runtime = kwargs.pop("runtime", None)
    opts = CreateOptions.from_kwargs(kwargs)
    client = get_client()
    try:
        container = create_container(client, opts, runtime)
    except CLIError as exc:
        raise CLIError(exc.message, 125) from None
    if opts.detach:
        click.echo(container)  # docker prints the ID before it starts the container
        try:
            client.post(f"/containers/{container}/start")
        except APIError as exc:
            raise CLIError(exc.message, start_error_status(exc.explanation)) from None
        return
    attach = {a.lower() for a in opts.attach}
    code = attach_start_wait(
        client, container, tty=opts.tty, stdin=opts.interactive or "stdin" in attach,
        stdout=not attach or "stdout" in attach, stderr=not attach or "stderr" in attach,
        auto_remove=opts.rm, sig_proxy=sig_proxy, detach_keys=detach_keys)
    raise SystemExit(code)


@click.command(context_settings={"allow_interspersed_args": False})
@create_options
def create(**kwargs: Any) -> None:
    """Create a new container."""
    runtime = kwargs.pop("runtime", None)
    opts = CreateOptions.from_kwargs(kwargs)
    click.echo(create_container(get_client(), opts, runtime))


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@click.option("--detach-keys", help="Override the key sequence for detaching a container")
@click.argument("containers", nargs=-1, required=True)
def start(attach: bool, interactive: bool, detach_keys: str | None, containers: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    client = get_client()
    if attach or interactive:
        if len(containers) > 1:
            raise CLIError("you cannot start and attach multiple containers at once")
        info = client.get(f"/containers/{containers[0]}/json")
        config = info.get("Config") or {}
        code = attach_start_wait(client, info["Id"], tty=bool(config.get("Tty")),
                                 stdin=interactive and bool(config.get("OpenStdin")),
                                 auto_remove=bool((info.get("HostConfig") or {}).get("AutoRemove")),
                                 detach_keys=detach_keys)
        raise SystemExit(code)
    for_each(containers, lambda c: client.post(f"/containers/{c}/start"), summary="failed to start containers")


@click.command()
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.option("--sig-proxy", type=click.BOOL, default=True, help="Proxy all received signals to the process")
@click.option("--detach-keys", help="Override the key sequence for detaching a container")
@click.argument("container")
def attach(no_stdin: bool, sig_proxy: bool, detach_keys: str | None, container: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    client = get_client()
    info = client.get(f"/containers/{container}/json")
    state = info.get("State") or {}
    if not state.get("Running"):
        raise CLIError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise CLIError("You cannot attach to a paused container, unpause it first")
    config = info.get("Config") or {}
    code = attach_start_wait(client, info["Id"], tty=bool(config.get("Tty")),
                             stdin=not no_stdin and bool(config.get("OpenStdin")), start=False,
                             sig_proxy=sig_proxy, detach_keys=detach_keys, escape_is_error=True)
    raise SystemExit(code)


COMMANDS = [run, create, start, attach]
