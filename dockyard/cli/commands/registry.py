"""Registry commands: login, logout, push; credentials in ~/.dockyard/config.json (docker's format)."""
from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli import references
from dockyard.cli.client import CLIError
from dockyard.cli.commands.common import get_client, show_json_stream

INDEX_SERVER = "https://index.docker.io/v1/"


def config_path() -> Path:
    return Path(os.environ.get("DOCKYARD_CONFIG") or Path.home() / ".dockyard") / "config.json"


def _load() -> dict[str, Any]:
    try:
        data = json.loads(config_path().read_text())
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, ValueError):
        return {}


def _save(data: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent="\t")
    os.replace(tmp, path)


def server_key(server: str | None) -> str:
    """The key docker uses in config.json: the host, or the index URL for Docker Hub."""
    if not server or server in ("docker.io", "index.docker.io", "registry-1.docker.io") or "index.docker.io" in server:
        return INDEX_SERVER
    return server.split("://", 1)[-1].rstrip("/")


def registry_of(image: str) -> str:
    """The registry host of an image reference (docker.io for Hub names)."""
    return references.normalize_name(references.split(image)[0]).split("/", 1)[0]


def auth_header(server: str) -> str:
    """X-Registry-Auth for `server`: base64url JSON of the stored credentials, or of `{}`."""
    entry = _load().get("auths", {}).get(server_key(server)) or {}
    cfg: dict[str, str] = {}
    if entry.get("auth"):
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        cfg = {"username": user, "password": password, "serveraddress": server_key(server)}
    if entry.get("identitytoken"):
        cfg["identitytoken"] = entry["identitytoken"]
    return base64.urlsafe_b64encode(json.dumps(cfg).encode()).decode()


@click.command()
@click.option("-u", "--username", help="Username")
@click.option("-p", "--password", help="Password")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin")
@click.argument("server", required=False)
def login(username: str | None, password: str | None, password_stdin: bool, server: str | None) -> None:
    """Log in to a registry (the daemon checks the credentials)."""
    if password_stdin:
        if password:
            raise CLIError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if not password:
        password = click.prompt("Password", hide_input=True)
    key = server_key(server)
    body = {"username": username, "password": password, "serveraddress": key}
    result = get_client().post("/auth", body=body) or {}
    data = _load()
    entry: dict[str, str] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    if result.get("IdentityToken"):
        entry = {"auth": "", "identitytoken": result["IdentityToken"]}
    data.setdefault("auths", {})[key] = entry
    _save(data)
    click.echo(result.get("Status") or "Login Succeeded")


@click.command()
@click.argument("server", required=False)
def logout(server: str | None) -> None:
    """Log out from a registry."""
    key = server_key(server)
    data = _load()
    if data.get("auths", {}).pop(key, None) is None:
        click.echo(f"Not logged in to {key}")
        return
    _save(data)
    click.echo(f"Removing login credentials for {key}")


@click.command()
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("image")
def push(all_tags: bool, quiet: bool, image: str) -> None:
    """Upload an image to a registry."""
    references.validate(image)
    name, tag, digest = references.split(image)
    if digest:
        raise CLIError("cannot push a digest reference")
    if not tag and not all_tags:
        click.echo("Using default tag: latest")
        tag = "latest"
    full = references.normalize_name(name)
    resp = get_client().request("POST", f"/images/{full}/push", {"tag": None if all_tags else tag},
                                headers={"X-Registry-Auth": auth_header(registry_of(image))})
    try:
        show_json_stream(resp, open(os.devnull, "w") if quiet else sys.stdout)
    finally:
        resp.close()
    if quiet:
        click.echo(image if tag is None else f"{references.familiar_name(full)}:{tag}")
