"""`dockyard volume create/ls/inspect/rm/prune`."""
from __future__ import annotations

import json

import click

from dockyard.cli.client import CLIError, filters_param
from dockyard.cli.commands.common import for_each, get_client
from dockyard.cli.humanize import bytes_size
from dockyard.cli.tabwriter import tabulate


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for v in values:
        key, eq, val = v.partition("=")
        if not eq and flag != "--label":
            raise CLIError(f'invalid argument "{v}" for "{flag}" flag: a key=value pair is required')
        out[key] = val
    return out


@click.command()
@click.option("-d", "--driver", default="local", help="Specify volume driver name")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options")
@click.option("--label", multiple=True, help="Set metadata for a volume")
@click.option("--name", "name_opt", help="Specify volume name")
@click.argument("name", required=False)
def volume_create(driver: str, opt: tuple[str, ...], label: tuple[str, ...], name_opt: str | None,
                  name: str | None) -> None:
    """Create a volume."""
    if name and name_opt and name != name_opt:
        raise CLIError("conflicting options: either specify --name or provide positional arg, not both")
    body = {"Name": name or name_opt or "", "Driver": driver, "DriverOpts": _pairs(opt, "-o, --opt"),
            "Labels": _pairs(label, "--label")}
    click.echo(get_client().post("/volumes/create", body=body)["Name"])


@click.command()
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values (e.g. 'dangling=true')")
def volume_ls(quiet: bool, filters: tuple[str, ...]) -> None:
    """List volumes."""
    vols = sorted(get_client().get("/volumes", {"filters": filters_param(filters)})["Volumes"] or [],
                  key=lambda v: v["Name"])
    if quiet:
        for v in vols:
            click.echo(v["Name"])
        return
    rows = "".join(f"{v['Driver']}\t{v['Name']}\n" for v in vols)
    click.echo(tabulate("DRIVER\tVOLUME NAME\n" + rows), nl=False)


@click.command()
@click.argument("names", nargs=-1, required=True)
def volume_inspect(names: tuple[str, ...]) -> None:
    """Display detailed information on one or more volumes."""
    client, found, failed = get_client(), [], False
    for name in names:
        try:
            found.append(client.get(f"/volumes/{name}"))
        except CLIError as exc:
            click.echo(f"Error: No such volume: {name}" if "no such volume" in exc.message else exc.message,
                       err=True)
            failed = True
    click.echo(json.dumps(found, indent=4))
    if failed:
        raise SystemExit(1)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes")
@click.argument("names", nargs=-1, required=True)
def volume_rm(force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more volumes."""
    client = get_client()
    for_each(names, lambda n: client.delete(f"/volumes/{n}", {"force": "1" if force else None}) and None)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'label=<label>')")
def volume_prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused local volumes."""
    if not force and not click.confirm("WARNING! This will remove all local volumes not used by at "
                                       "least one container.\nAre you sure you want to continue?"):
        return
    out = get_client().post("/volumes/prune", {"filters": filters_param(filters)})
    if out.get("VolumesDeleted"):
        click.echo("Deleted Volumes:")
        for name in out["VolumesDeleted"]:
            click.echo(name)
        click.echo("")
    click.echo(f"Total reclaimed space: {bytes_size(out.get('SpaceReclaimed') or 0)}")
