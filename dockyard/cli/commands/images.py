"""Image commands: images, rmi, tag, pull, import, save, load, history, prune."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from dockyard.cli import references
from dockyard.cli.client import CLIError, copy_stream, filters_param
from dockyard.cli.commands.common import (emit_template, for_each, get_client, open_input, open_output,
                                           show_json_stream)
from dockyard.cli.formatting import (HISTORY_FORMAT, HISTORY_HEADER, IMAGES_DIGEST_FORMAT, IMAGES_FORMAT,
                                     IMAGES_HEADER, HistoryContext, image_rows)
from dockyard.cli.humanize import human_size


class _GoBool(click.ParamType):
    """A pflag-style boolean value: `-H=false` reaches click as "=false"."""

    name = "boolean"

    def convert(self, value: Any, param: Any, ctx: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).lstrip("=").lower()
        if text in ("1", "t", "true"):
            return True
        if text in ("0", "f", "false"):
            return False
        self.fail(f"invalid argument \"{value}\": strconv.ParseBool: parsing \"{text}\": invalid syntax", param, ctx)


GO_BOOL = _GoBool()


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images (default hides intermediate images)")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--digests", is_flag=True, help="Show digests")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--format", "fmt", help="Pretty-print images using a Go template")
@click.argument("repository", required=False)
def images(all_: bool, quiet: bool, digests: bool, no_trunc: bool, filters: tuple[str, ...],
           fmt: str | None, repository: str | None) -> None:
    """List images."""
    pairs = list(filters) + ([f"reference={repository}"] if repository else [])
    params = {"all": 1 if all_ else None, "filters": filters_param(pairs)}
    found = get_client().get("/images/json", params) or []
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = IMAGES_DIGEST_FORMAT if digests else IMAGES_FORMAT
    elif fmt == "json":
        fmt = "{{json .}}"
    wants_digest = digests or "{{.Digest}}" in fmt
    rows = [row for image in found for row in image_rows(image, wants_digest, not no_trunc)]
    emit_template(fmt, rows, IMAGES_HEADER)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents")
@click.argument("images_", metavar="IMAGE...", nargs=-1, required=True)
def rmi(force: bool, no_prune: bool, images_: tuple[str, ...]) -> None:
    """Remove one or more images."""
    client = get_client()
    params = {"force": 1 if force else None, "noprune": 1 if no_prune else None}

    def remove(image: str) -> str:
        items = client.delete(f"/images/{image}", params) or []
        lines = []
        for item in items:
            for key in ("Untagged", "Deleted"):
                if item.get(key):
                    lines.append(f"{key}: {item[key]}")
        return "\n".join(lines)

    for_each(images_, remove)


@click.command()
@click.argument("source")
@click.argument("target")
def tag(source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    try:
        references.validate(target)
    except CLIError as exc:
        raise CLIError(f'Error parsing reference: "{target}" is not a valid repository/tag: {exc.message}') from None
    name, tag_, digest = references.split(target)
    if digest:
        raise CLIError("refusing to create a tag with a digest reference")
    get_client().post(f"/images/{source}/tag", {"repo": references.normalize_name(name), "tag": tag_ or "latest"})


@click.command()
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images in the repository")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("image")
def pull(all_tags: bool, quiet: bool, image: str) -> None:
    """Download an image from a registry."""
    references.validate(image)
    name, tag_, digest = references.split(image)
    if not tag_ and not digest and not all_tags:
        click.echo("Using default tag: latest")
    params = {"fromImage": references.normalize_name(name),
              "tag": None if all_tags else (digest or tag_ or "latest")}
    from dockyard.cli.commands.registry import auth_header, registry_of
    resp = get_client().request("POST", "/images/create", params,
                                headers={"X-Registry-Auth": auth_header(registry_of(image))})
    try:
        show_json_stream(resp, open(os.devnull, "w") if quiet else sys.stdout)
    finally:
        resp.close()
    if quiet:
        click.echo(references.familiar_tagged(image) if not digest else image)


@click.command(name="import")
@click.option("-c", "--change", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Set commit message for imported image")
@click.option("--platform", help="Set platform if server is multi-platform capable")
@click.argument("file")
@click.argument("reference", required=False)
def import_(change: tuple[str, ...], message: str, platform: str | None, file: str, reference: str | None) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    if reference:
        references.validate(reference)
    params: list[tuple[str, Any]] = [("repo", reference or ""), ("tag", ""), ("message", message)]
    if file.startswith(("http://", "https://")):
        params.insert(0, ("fromSrc", file))
        body = None
    else:
        params.insert(0, ("fromSrc", "-"))
        body = open_input(file)
    if platform:
        params.append(("platform", platform))
    params += [("changes", c) for c in change]
    resp = get_client().request("POST", "/images/create", params, body=body,
                                headers={"Content-Type": "application/x-tar"} if body else None)
    try:
        show_json_stream(resp, sys.stdout)
    finally:
        resp.close()


@click.command()
@click.option("-o", "--output", help="Write to a file, instead of STDOUT")
@click.argument("images_", metavar="IMAGE...", nargs=-1, required=True)
def save(output: str | None, images_: tuple[str, ...]) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    client = get_client()
    out = open_output(output, "save")
    resp = client.request("GET", "/images/get", [("names", i) for i in images_])
    try:
        copy_stream(resp, out)
    finally:
        resp.close()
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()


@click.command()
@click.option("-i", "--input", "input_", help="Read from tar archive file, instead of STDIN")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output")
def load(input_: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    if not input_ and os.isatty(sys.stdin.fileno()):
        raise CLIError("requested load from stdin, but stdin is empty")
    body = open_input(input_)
    resp = get_client().request("POST", "/images/load", {"quiet": 1 if quiet else 0}, body=body,
                                headers={"Content-Type": "application/x-tar"})
    try:
        show_json_stream(resp, sys.stdout)
    finally:
        resp.close()


@click.command()
@click.option("-H", "--human", type=GO_BOOL, default=True, show_default=True,
              help="Print sizes and dates in human readable format")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--format", "fmt", help="Pretty-print images using a Go template")
@click.argument("image")
def history(human: bool, no_trunc: bool, quiet: bool, fmt: str | None, image: str) -> None:
    """Show the history of an image."""
    layers = get_client().get(f"/images/{image}/history") or []
    if quiet:
        fmt = "{{.ID}}"
    elif not fmt or fmt == "table":
        fmt = HISTORY_FORMAT
    elif fmt == "json":
        fmt = "{{json .}}"
    header = HISTORY_HEADER if human else {**HISTORY_HEADER, "CreatedSince": "CREATED AT"}
    emit_template(fmt, [HistoryContext(h, trunc=not no_trunc, human=human) for h in layers], header)


@click.command(name="prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=<timestamp>')")
def image_prune(all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused images."""
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if all_ else "WARNING! This will remove all dangling images.")
    if not force and not click.confirm(f"{warning}\nAre you sure you want to continue?",
                                       default=False, prompt_suffix=" "):
        return
    pairs = list(filters) + (["dangling=false"] if all_ else [])
    report = get_client().post("/images/prune", {"filters": filters_param(pairs)}) or {}
    deleted = report.get("ImagesDeleted") or []
    if deleted:
        click.echo("Deleted Images:")
        for item in deleted:
            for key in ("Untagged", "Deleted"):
                if item.get(key):
                    click.echo(f"{key.lower()}: {item[key]}")
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed') or 0)}")


COMMANDS = [images, rmi, tag, pull, import_, save, load, history]
