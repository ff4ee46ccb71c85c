"""`dockyard compose ps`, `config`, `images`, `port`, `top`, `events`, `ls`, `version`, `cp`: views of a project."""
from __future__ import annotations

import json
import sys
from typing import Any

import click

from dockyard.cli.client import CLIENT_VERSION, CLIError
from dockyard.cli.commands.compose import engine, guarded, load_project, selected, services_arg
from dockyard.cli.formatting import ContainerContext
from dockyard.cli.humanize import human_size, truncate_id
from dockyard.cli.tabwriter import tabulate


def _publishers(c: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"URL": p.get("IP", ""), "TargetPort": p.get("PrivatePort"), "PublishedPort": p.get("PublicPort", 0),
             "Protocol": p.get("Type", "tcp")} for p in c.get("Ports") or []]


def ps_row(c: dict[str, Any]) -> dict[str, Any]:
    """One container as `docker compose ps --format json` prints it."""
    ctx = ContainerContext(c, trunc=False)
    lbl = c.get("Labels") or {}
    status = str(c.get("Status") or "")
    health = next((h for h in ("healthy", "unhealthy", "starting") if f"({h})" in status
                   or (h == "starting" and "health: starting" in status)), "")
    exit_code = 0
    if status.startswith("Exited (") and ")" in status:
        exit_code = int(status[len("Exited ("):status.index(")")])
    return {"ID": c.get("Id", ""), "Name": ctx.Names(), "Names": ctx.Names(), "Image": c.get("Image", ""),
            "Command": c.get("Command", ""), "Project": lbl.get("com.docker.compose.project", ""),
            "Service": lbl.get("com.docker.compose.service", ""), "CreatedAt": ctx.CreatedAt(),
            "RunningFor": ctx.RunningFor(), "State": c.get("State", ""), "Status": status, "Health": health,
            "ExitCode": exit_code, "Ports": ctx.Ports(), "Publishers": _publishers(c), "Labels": ctx.Labels(),
            "Networks": ctx.Networks(), "LocalVolumes": ctx.LocalVolumes(), "Mounts": ctx.Mounts(), "Size": "0B"}


@click.command(name="ps")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all stopped containers")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@click.option("--services", "only_services", is_flag=True, help="Display services")
@click.option("--format", "fmt", default="table", help="Format the output (table, json)")
@click.option("--status", multiple=True, help="Filter services by status")
@services_arg
@guarded
def ps_(all_: bool, quiet: bool, only_services: bool, fmt: str, status: tuple[str, ...],
        services: tuple[str, ...]) -> None:
    """List containers."""
    from dockyard.compose.ops import by_service

    project = load_project(services)
    groups = by_service(engine(), project, selected(project, services), oneoff=None, all_=all_ or bool(status))
    rows = [c for name in sorted(groups) for c in groups[name]]
    if status:
        rows = [c for c in rows if c.get("State") in status]
    if quiet:
        click.echo("\n".join(c["Id"] for c in rows) + ("\n" if rows else ""), nl=False)
    elif only_services:
        click.echo("\n".join(sorted({ps_row(c)["Service"] for c in rows})) + ("\n" if rows else ""), nl=False)
    elif fmt == "json":
        for c in rows:
            click.echo(json.dumps(ps_row(c)))
    else:
        lines = ["NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS"]
        for c in rows:
            ctx = ContainerContext(c)
            lines.append("\t".join([ctx.Names(), ctx.Image(), ctx.Command(), ps_row(c)["Service"], ctx.RunningFor(),
                                    ctx.Status(), ctx.Ports()]))
        sys.stdout.write(tabulate("\n".join(lines) + "\n", minwidth=10, padding=3))


@click.command(name="config")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", help="Format the output")
@click.option("--services", "list_services", is_flag=True, help="Print the service names, one per line")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names, one per line")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names, one per line")
@click.option("--images", "list_images", is_flag=True, help="Print the image names, one per line")
@click.option("-q", "--quiet", is_flag=True, help="Only validate the configuration, don't print anything")
@click.option("-o", "--output", help="Save to file (default to stdout)")
@services_arg
@guarded
def config_(fmt: str, list_services: bool, list_volumes: bool, list_profiles: bool, list_images: bool, quiet: bool,
            output: str | None, services: tuple[str, ...]) -> None:
    """Parse, resolve and render compose file in canonical format."""
    from dockyard.compose import canonical, convert

    project = load_project(services)
    if services:
        keep = set(project.order(list(services)))
        project.services = {n: s for n, s in project.services.items() if n in keep}
    if quiet:
        return
    if list_services:
        text = "".join(f"{n}\n" for n in project.order())
    elif list_volumes:
        text = "".join(f"{n}\n" for n in sorted(project.volumes))
    elif list_profiles:
        text = "".join(f"{p}\n" for p in project.all_profiles())
    elif list_images:
        text = "".join(f"{convert.image_name(project, n)}\n" for n in sorted(project.services))
    else:
        text = canonical.render(project, fmt)
    if output:
        with open(output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


@click.command(name="images")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@click.option("--format", "fmt", default="table", help="Format the output (table, json)")
@services_arg
@guarded
def images_(quiet: bool, fmt: str, services: tuple[str, ...]) -> None:
    """List images used by the created containers."""
    from dockyard.compose.ops import by_service

    project = load_project(services)
    api = engine()
    rows = []
    for cs in by_service(api, project, selected(project, services)).values():
        for c in cs:
            image = api.find(f"/images/{c.get('ImageID', '')}/json") or {}
            repo, _, tag = (c.get("Image") or "").rpartition(":") if ":" in (c.get("Image") or "").split("/")[-1] \
                else (c.get("Image") or "", "", "latest")
            rows.append({"ContainerName": ContainerContext(c).Names(), "Repository": repo, "Tag": tag,
                         "ID": image.get("Id", c.get("ImageID", "")), "Size": image.get("Size", 0)})
    if quiet:
        click.echo("\n".join(sorted({r["ID"] for r in rows})) + ("\n" if rows else ""), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        lines = ["CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE"]
        lines += [f"{r['ContainerName']}\t{r['Repository']}\t{r['Tag']}\t{truncate_id(r['ID'])}\t{human_size(r['Size'], 3)}"
                  for r in rows]
        sys.stdout.write(tabulate("\n".join(lines) + "\n", minwidth=10, padding=3))


def _container(service: str, index: int) -> dict[str, Any]:
    from dockyard.compose.engine import number_of

    project = load_project([service])
    project.service(service)
    found = [c for c in engine().containers(project.name, service) if number_of(c) == index]
    if not found:
        raise CLIError(f"service \"{service}\" is not running container #{index}")
    return found[0]


@click.command(name="port")
@click.option("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
@click.option("--protocol", default="tcp", help="tcp or udp")
@click.argument("service")
@click.argument("private_port")
@guarded
def port_(index: int, protocol: str, service: str, private_port: str) -> None:
    """Print the public port for a port binding."""
    c = _container(service, index)
    ports = ((engine().find(f"/containers/{c['Id']}/json") or {}).get("NetworkSettings") or {}).get("Ports") or {}
    bindings = ports.get(f"{private_port}/{protocol}") or []
    if not bindings:
        raise CLIError(f"no port {private_port}/{protocol} for container {ContainerContext(c).Names()}")
    b = bindings[0]
    click.echo(f"{b.get('HostIp') or '0.0.0.0'}:{b['HostPort']}")


@click.command(name="top")
@services_arg
@guarded
def top_(services: tuple[str, ...]) -> None:
    """Display the running processes."""
    from dockyard.compose.ops import by_service

    project = load_project(services)
    api = engine()
    for cs in by_service(api, project, selected(project, services), all_=False).values():
        for c in cs:
            result = api.call("GET", f"/containers/{c['Id']}/top")
            lines = ["\t".join(result.get("Titles") or [])] + ["\t".join(p) for p in result.get("Processes") or []]
            click.echo(ContainerContext(c).Names())
            sys.stdout.write(tabulate("\n".join(lines) + "\n", minwidth=5, padding=3) + "\n")


@click.command(name="events")
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of json objects")
@services_arg
@guarded
def events_(as_json: bool, services: tuple[str, ...]) -> None:
    """Receive real time events from containers."""
    project = load_project(services)
    filters = {"label": [f"com.docker.compose.project={project.name}"], "type": ["container"]}
    for ev in engine().stream_json("GET", "/events", {"filters": json.dumps(filters)}):
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        service = attrs.get("com.docker.compose.service", "")
        if services and service not in services:
            continue
        when = ev.get("timeNano", 0)
        import datetime

        stamp = datetime.datetime.fromtimestamp(when / 1e9).isoformat(timespec="microseconds")
        shown = {k: v for k, v in attrs.items() if not k.startswith("com.docker.compose.")}
        if as_json:
            click.echo(json.dumps({"time": stamp, "type": "container", "action": ev.get("Action", ""),
                                   "id": (ev.get("Actor") or {}).get("ID", ""), "service": service,
                                   "attributes": shown}))
        else:
            attr_text = ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
            click.echo(f"{stamp} container {ev.get('Action', '')} {(ev.get('Actor') or {}).get('ID', '')} ({attr_text})")


@click.command(name="ls")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all stopped Compose projects")
@click.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@click.option("--format", "fmt", default="table", help="Format the output (table, json)")
@guarded
def ls_(all_: bool, quiet: bool, fmt: str) -> None:
    """List running compose projects."""
    from dockyard.compose.ops import projects

    rows = projects(engine(), all_)
    if quiet:
        click.echo("".join(f"{r['Name']}\n" for r in rows), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        lines = ["NAME\tSTATUS\tCONFIG FILES"] + [f"{r['Name']}\t{r['Status']}\t{r['ConfigFiles']}" for r in rows]
        sys.stdout.write(tabulate("\n".join(lines) + "\n", minwidth=10, padding=3))


@click.command(name="version")
@click.option("--short", is_flag=True, help="Shows only Compose's version number")
@click.option("-f", "--format", "fmt", default="pretty", help="Format the output (pretty, json)")
def version_(short: bool, fmt: str) -> None:
    """Show the Docker Compose version information."""
    from dockyard.compose.model import COMPOSE_VERSION

    if short:
        click.echo(COMPOSE_VERSION)
    elif fmt == "json":
        click.echo(json.dumps({"version": COMPOSE_VERSION, "dockyard": CLIENT_VERSION}))
    else:
        click.echo(f"Dockyard Compose version {COMPOSE_VERSION} (dockyard {CLIENT_VERSION})")


@click.command(name="cp")
@click.option("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@click.argument("src")
@click.argument("dest")
@click.pass_context
@guarded
def cp_(ctx: click.Context, index: int, archive: bool, follow_link: bool, src: str, dest: str) -> None:
    """Copy files/folders between a service container and the local filesystem."""
    from dockyard.cli.commands.files import cp

    def resolve(arg: str) -> str:
        service, sep, path = arg.partition(":")
        if not sep or arg.startswith(("/", ".")):
            return arg
        return f"{_container(service, index)['Id']}:{path}"

    ctx.invoke(cp, archive=archive, follow_link=follow_link, quiet=True, src=resolve(src), dest=resolve(dest))
