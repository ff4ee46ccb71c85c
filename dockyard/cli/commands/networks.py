"""`dockyard network create/ls/inspect/rm/prune/connect/disconnect` and `dockyard port`."""
from __future__ import annotations

import json
from typing import Any

import click

from dockyard.cli.client import CLIError, filters_param
from dockyard.cli.commands.common import for_each, get_client
from dockyard.cli.tabwriter import tabulate


def _opts(values: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for v in values:
        key, eq, val = v.partition("=")
        if not eq:
            raise CLIError(f'invalid argument "{v}" for "{flag}" flag: a key=value pair is required')
        out[key] = val
    return out


@click.command()
@click.option("-d", "--driver", default="bridge", help="Driver to manage the Network")
@click.option("--subnet", help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", help="IPv4 Gateway for the master subnet")
@click.option("--ip-range", help="Allocate container ip from a sub-range")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--label", multiple=True, help="Set metadata on a network")
@click.argument("name")
def network_create(driver: str, subnet: str | None, gateway: str | None, ip_range: str | None,
                   internal: bool, attachable: bool, opt: tuple[str, ...], label: tuple[str, ...],
                   name: str) -> None:
    """Create a network."""
    if (gateway or ip_range) and not subnet:
        raise CLIError("every ip-range or gateway must have a corresponding subnet")
    config = [{k: v for k, v in (("Subnet", subnet), ("Gateway", gateway), ("IPRange", ip_range)) if v}]
    body = {"Name": name, "CheckDuplicate": True, "Driver": driver, "Internal": internal,
            "Attachable": attachable, "Options": _opts(opt, "-o, --opt"),
            "Labels": _opts(label, "--label"),
            "IPAM": {"Driver": "default", "Options": {}, "Config": config if subnet else []}}
    click.echo(get_client().post("/networks/create", body=body)["Id"])


@click.command()
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'driver=bridge')")
def network_ls(quiet: bool, no_trunc: bool, filters: tuple[str, ...]) -> None:
    """List networks."""
    nets = sorted(get_client().get("/networks", {"filters": filters_param(filters)}) or [],
                  key=lambda n: n["Name"])
    ident = (lambda n: n["Id"]) if no_trunc else (lambda n: n["Id"][:12])
    if quiet:
        for n in nets:
            click.echo(ident(n))
        return
    rows = ["NETWORK ID\tNAME\tDRIVER\tSCOPE"] + \
        [f"{ident(n)}\t{n['Name']}\t{n['Driver']}\t{n.get('Scope', 'local')}" for n in nets]
    click.echo(tabulate("\n".join(rows) + "\n"), nl=False)


@click.command()
@click.argument("networks", nargs=-1, required=True)
def network_inspect(networks: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""
    found: list[Any] = []
    failed = False
    for ref in networks:
        try:
            found.append(get_client().get(f"/networks/{ref}"))
        except CLIError as exc:
            click.echo(exc.message, err=True)
            failed = True
    click.echo(json.dumps(found, indent=4))
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("networks", nargs=-1, required=True)
def network_rm(networks: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    for_each(networks, lambda ref: get_client().delete(f"/networks/{ref}"))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def network_prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    if not force and not click.confirm(
            "WARNING! This will remove all custom networks not used by at least one container.\n"
            "Are you sure you want to continue?", default=False, prompt_suffix=" "):
        return
    report = get_client().post("/networks/prune", {"filters": filters_param(filters)}) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        click.echo("Deleted Networks:\n" + "\n".join(deleted))


@click.command()
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container")
@click.option("--ip", help="IPv4 address (e.g., 172.30.100.104)")
@click.argument("network")
@click.argument("container")
def network_connect(alias: tuple[str, ...], ip: str | None, network: str, container: str) -> None:
    """Connect a container to a network."""
    endpoint: dict[str, Any] = {"Aliases": list(alias) or None}
    if ip:
        endpoint["IPAMConfig"] = {"IPv4Address": ip}
    get_client().post(f"/networks/{network}/connect", body={"Container": container, "EndpointConfig": endpoint})


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("network")
@click.argument("container")
def network_disconnect(force: bool, network: str, container: str) -> None:
    """Disconnect a container from a network."""
    get_client().post(f"/networks/{network}/disconnect", body={"Container": container, "Force": force})


def port_lines(ports: dict[str, Any], wanted: str | None = None) -> list[str]:
    """`docker port` lines from NetworkSettings.Ports, optionally for one PRIVATE_PORT[/PROTO]."""
    if wanted and "/" not in wanted:
        wanted += "/tcp"
    out = []
    for key in sorted(ports, key=lambda k: (int(k.split("/")[0]), k)):
        for b in ports[key] or []:
            if wanted and key != wanted:
                continue
            shown = f"{b.get('HostIp') or '0.0.0.0'}:{b['HostPort']}"
            out.append(shown if wanted else f"{key} -> {shown}")
    return out


@click.command()
@click.argument("container")
@click.argument("private_port", required=False)
def port(container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    ports = (get_client().get(f"/containers/{container}/json").get("NetworkSettings") or {}).get("Ports") or {}
    lines = port_lines(ports, private_port)
    if private_port and not lines:
        raise CLIError(f"Error: No public port '{private_port if '/' in private_port else private_port + '/tcp'}' "
                       f"published for {container}")
    for line in lines:
        click.echo(line)
