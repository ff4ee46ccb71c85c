"""`dockyard cp` (both ways, `-` for a tar on stdin/stdout) and `dockyard commit`, over the archive API."""
from __future__ import annotations

import base64
import json
import os
import posixpath
import sys
import tarfile
import tempfile
from typing import Any, BinaryIO

import click

from dockyard.cli.client import APIError, CLIError, copy_stream
from dockyard.cli.commands.common import get_client

GO_DIR = 1 << 31
GO_SYMLINK = 1 << 27


@click.command()
@click.option("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Commit message")
@click.option("-p", "--pause", type=click.BOOL, default=True, is_flag=False, flag_value=True,
              help="Pause container during commit (default true)")
@click.argument("container")
@click.argument("repository", required=False)
def commit(author: str, changes: tuple[str, ...], message: str, pause: bool, container: str,
           repository: str | None) -> None:
    """Create a new image from a container's changes."""
    repo, tag = _split_ref(repository) if repository else ("", "")
    params: dict[str, Any] = {"container": container, "repo": repo, "tag": tag, "comment": message,
                              "author": author, "pause": "1" if pause else "0", "changes": list(changes)}
    result = get_client().post("/commit", params, {})
    click.echo(result["Id"])


def _split_ref(ref: str) -> tuple[str, str]:
    if "@" in ref:
        return ref, ""
    name, _, tag = ref.rpartition(":")
    if name and "/" not in tag:
        return name, tag
    return ref, ""


def _container_path(arg: str) -> tuple[str, str] | None:
    """`CONTAINER:PATH` -> (container, path); a local path (absolute, or ./x) -> None."""
    if arg.startswith("/") or arg.startswith("."):
        return None
    name, sep, path = arg.partition(":")
    return (name, path) if sep and name else None


@click.command()
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output during copy")
@click.argument("src")
@click.argument("dest")
def cp(archive: bool, follow_link: bool, quiet: bool, src: str, dest: str) -> None:
    """Copy files/folders between a container and the local filesystem."""
    s, d = _container_path(src), _container_path(dest)
    if s and d:
        raise CLIError("copying between containers is not supported")
    if not s and not d:
        raise CLIError("must specify at least one container source")
    if s:
        _copy_from(s[0], s[1], dest, follow_link)
    else:
        assert d is not None
        _copy_to(src, d[0], d[1], archive, follow_link)


def _stat(container: str, path: str) -> dict[str, Any] | None:
    client = get_client()
    try:
        resp = client.request("HEAD", f"/containers/{container}/archive", {"path": path})
    except APIError as e:
        if e.status_code != 404:
            raise
        client.get(f"/containers/{container}/json")  # a HEAD has no body: is it the container?
        return None
    header = resp.getheader("X-Docker-Container-Path-Stat") or ""
    resp.read()
    resp.close()
    return json.loads(base64.b64decode(header)) if header else None


def _copy_from(container: str, path: str, dest: str, follow: bool) -> None:
    client = get_client()
    if follow:
        st = _stat(container, path)
        if st and st.get("linkTarget"):
            path = st["linkTarget"]
    resp = client.request("GET", f"/containers/{container}/archive", {"path": path})
    try:
        if dest == "-":
            copy_stream(resp, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        with tempfile.TemporaryFile() as spool:
            copy_stream(resp, spool)
            spool.seek(0)
            _extract_local(spool, path, dest)
    finally:
        resp.close()


def _extract_local(data: BinaryIO, src_path: str, dest: str) -> None:
    """Unpack into `dest` like docker: into it if it is a directory, else as that name."""
    contents = src_path.endswith("/.")
    with tarfile.open(fileobj=data, mode="r|") as tf:
        members = tf
        if os.path.isdir(dest):
            target, rename = dest, None
        else:
            parent = os.path.dirname(os.path.abspath(dest))
            if not os.path.isdir(parent):
                raise CLIError(f"no such directory: {parent}")
            target, rename = parent, os.path.basename(dest)
        for m in members:
            top, _, rest = m.name.partition("/")
            if contents:
                if top == "." and not rest:
                    if rename:
                        m.name = rename
                    else:
                        continue
                elif rename:
                    m.name = f"{rename}/{rest}"
                else:
                    m.name = rest
            elif rename:
                m.name = rename + ("/" + rest if rest else "")
            if rename and m.isfile() and os.path.isdir(os.path.join(target, m.name)):
                raise CLIError(f"cannot overwrite directory {dest} with non-directory")
            # "tar": no absolute names, nothing outside `target`, not even through a symlink
            tf.extract(m, target, set_attrs=True, filter="tar")


def _tar_local(src: str, name: str) -> BinaryIO:
    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if src.endswith("/.") and os.path.isdir(src):
            for child in sorted(os.listdir(src)):
                tf.add(os.path.join(src, child), arcname=f"{name}/{child}" if name != "." else child)
        else:
            tf.add(src, arcname=name)
    spool.seek(0)
    return spool


def _copy_to(src: str, container: str, path: str, archive: bool, follow: bool) -> None:
    client = get_client()
    params = {"copyUIDGID": "1" if archive else None}
    if src == "-":
        client.request("PUT", f"/containers/{container}/archive", {"path": path, **params},
                       sys.stdin.buffer).close()
        return
    if not os.path.lexists(src):
        raise CLIError(f"could not find the file {src}: no such file or directory")
    if follow:
        src = os.path.realpath(src)
    st = _stat(container, path)
    if st is not None and st["mode"] & GO_SYMLINK and st.get("linkTarget"):
        follow_st = _stat(container, st["linkTarget"])
        if follow_st is not None:
            path, st = st["linkTarget"], follow_st
    if st is not None and st["mode"] & GO_DIR:
        target = path
        name = "." if src.endswith("/.") else os.path.basename(os.path.normpath(src))
    else:
        if path.endswith("/"):
            raise CLIError(f"no such directory: {path}")
        if st is not None and os.path.isdir(src):
            raise CLIError("cannot copy a directory to a file")
        target = posixpath.dirname(posixpath.normpath("/" + path)) or "/"
        name = posixpath.basename(posixpath.normpath("/" + path))
    body = _tar_local(src, name)
    try:
        client.request("PUT", f"/containers/{container}/archive",
                       {"path": target, **params}, body).close()
    finally:
        body.close()


COMMANDS = [commit, cp]
