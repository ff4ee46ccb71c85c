"""Container commands other than run/create/start: ps, logs, stop, kill, wait, rm, export, top, ..."""
from __future__ import annotations

import sys
import time
from typing import Any

import click

from dockyard.cli.client import CLIError, copy_stream, filters_param
from dockyard.cli.commands.common import emit_template, for_each, get_client, open_output
from dockyard.cli.formatting import PS_FORMAT, PS_HEADER, ContainerContext
from dockyard.cli.humanize import api_timestamp
from dockyard.cli.streams import SystemFailure, pump
from dockyard.cli.tabwriter import tabulate


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", help="Pretty-print containers using a Go template")
def ps(all_: bool, quiet: bool, last: int, latest: bool, no_trunc: bool, size: bool,
       filters: tuple[str, ...], fmt: str | None) -> None:
    """List containers."""
    limit = 1 if latest else last
    params: dict[str, Any] = {"all": 1 if all_ or limit > 0 else None, "size": 1 if size else None,
                              "limit": limit if limit > 0 else None, "filters": filters_param(filters)}
    containers = get_client().get("/containers/json", params) or []
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = PS_FORMAT + ("\t{{.Size}}" if size else "")
    elif fmt == "json":
        fmt = "{{json .}}"
    rows = [ContainerContext(c, trunc=not no_trunc) for c in containers]
    emit_template(fmt, rows, PS_HEADER)



@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("--since", help="Show logs since timestamp or relative (e.g. 42m)")
@click.option("--until", help="Show logs before a timestamp or relative (e.g. 42m)")
@click.option("--details", is_flag=True, help="Show extra details provided to logs")
@click.argument("container")
def logs(follow: bool, tail: str, timestamps: bool, since: str | None, until: str | None,
         details: bool, container: str) -> None:
    """Fetch the logs of a container."""
    client = get_client()
    info = client.get(f"/containers/{container}/json")
    now = time.time()
    try:
        params = {"stdout": 1, "stderr": 1, "follow": int(follow), "tail": tail, "timestamps": int(timestamps),
                  "details": int(details),
                  "since": api_timestamp(since, now) if since else None,
                  "until": api_timestamp(until, now) if until else None}
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    resp = client.request("GET", f"/containers/{info['Id']}/logs", params)
    tty = bool((info.get("Config") or {}).get("Tty"))
    try:
        pump(lambda: resp.read1(65536), multiplexed=not tty)
    except SystemFailure as exc:
        raise CLIError(str(exc)) from None
    finally:
        resp.close()


@click.command()
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait before killing the container")
@click.argument("containers", nargs=-1, required=True)
def stop(timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/stop", {"t": timeout}))


@click.command()
@click.option("-t", "--time", "timeout", type=int, help="Seconds to wait before killing the container")
@click.argument("containers", nargs=-1, required=True)
def restart(timeout: int | None, containers: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/restart", {"t": timeout}))


@click.command()
@click.option("-s", "--signal", "sig", help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
def kill(sig: str | None, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/kill", {"signal": sig}))


@click.command()
@click.argument("containers", nargs=-1, required=True)
def wait(containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    client = get_client()
    for_each(containers, lambda c: str(client.post(f"/containers/{c}/wait").get("StatusCode")))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container")
@click.option("-l", "--link", is_flag=True, help="Remove the specified link")
@click.argument("containers", nargs=-1, required=True)
def rm(force: bool, volumes: bool, link: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    client = get_client()
    params = {"force": 1 if force else None, "v": 1 if volumes else None, "link": 1 if link else None}
    for_each(containers, lambda c: client.delete(f"/containers/{c}", params) and None)


@click.command()
@click.argument("container")
@click.argument("new_name")
def rename(container: str, new_name: str) -> None:
    """Rename a container."""
    get_client().post(f"/containers/{container}/rename", {"name": new_name})


@click.command()
@click.argument("containers", nargs=-1, required=True)
def pause(containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/pause"))


@click.command()
@click.argument("containers", nargs=-1, required=True)
def unpause(containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/unpause"))


@click.command(context_settings={"allow_interspersed_args": False})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
def top(container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    params = {"ps_args": " ".join(ps_args)} if ps_args else None
    result = get_client().get(f"/containers/{container}/top", params)
    lines = ["\t".join(result.get("Titles") or [])]
    lines += ["\t".join(proc) for proc in result.get("Processes") or []]
    sys.stdout.write(tabulate("\n".join(lines) + "\n", minwidth=20, padding=3))


@click.command()
@click.option("-o", "--output", help="Write to a file, instead of STDOUT")
@click.argument("container")
def export(output: str | None, container: str) -> None:
    """Export a container's filesystem as a tar archive."""
    client = get_client()
    out = open_output(output, "export")
    resp = client.request("GET", f"/containers/{container}/export")
    try:
        copy_stream(resp, out)
    finally:
        resp.close()
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()


@click.command(name="prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def container_prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    from dockyard.cli.humanize import human_size
    if not force and not click.confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
            default=False, prompt_suffix=" "):
        return
    report = get_client().post("/containers/prune", {"filters": filters_param(filters)}) or {}
    deleted = report.get("ContainersDeleted") or []
    if deleted:
        click.echo("Deleted Containers:\n" + "\n".join(deleted) + "\n")
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed') or 0)}")


COMMANDS = [ps, logs, stop, restart, kill, wait, rm, rename, pause, unpause, top, export]
