"""`dockyard build`: send a context (directory, tar file, or stdin) to POST /build and show the steps.

The context is filtered with .dockerignore client-side, as the docker CLI does, by docker-py's
build utilities (Go's filepath.Match rules, `**`, `!`), imported only when a build runs.
"""
from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import tempfile
import time
from typing import IO, Any, Iterator

import click

from dockyard.cli.client import CLIError, iter_json_stream
from dockyard.cli.commands.common import get_client


def _dir_context(path: str, dockerfile: str | None) -> tuple[IO[bytes], str | None]:
    from docker.utils import build as dbuild  # docker-py: the .dockerignore rules the docker CLI has

    root = os.path.abspath(path)
    patterns: list[str] = []
    ignore = os.path.join(root, ".dockerignore")
    if os.path.isfile(ignore):
        with open(ignore) as f:
            patterns = [line.strip() for line in f.read().splitlines()
                        if line.strip() and not line.strip().startswith("#")]
    name: str | None = None
    extra: tuple[str | None, str | None] = (None, None)
    if dockerfile:
        full = dockerfile if os.path.isabs(dockerfile) else os.path.join(os.getcwd(), dockerfile)
        rel = os.path.relpath(full, root)
        if rel.startswith(".."):
            try:
                with open(full) as f:
                    extra = (f".dockerfile.{os.urandom(10).hex()}", f.read())
            except OSError as e:
                raise CLIError(f"unable to prepare context: {e.strerror}: {dockerfile}") from None
            name = extra[0]
        else:
            name = rel
    if not os.path.isfile(os.path.join(root, name or "Dockerfile")) and extra[1] is None:
        raise CLIError(f"unable to prepare context: Cannot locate specified Dockerfile: {name or 'Dockerfile'}")
    patterns.append("!.dockerignore")  # the Dockerfile and .dockerignore are always sent
    out = tempfile.TemporaryFile()
    if extra[1] is not None:
        dbuild.tar(root, exclude=patterns, dockerfile=extra, fileobj=out)
    else:
        dbuild.create_archive(root, sorted(dbuild.exclude_paths(root, patterns, dockerfile=name)), out)
    out.seek(0)
    return out, name


def _stdin_context() -> IO[bytes]:
    data = sys.stdin.buffer.read()
    if data[:2] == b"\x1f\x8b" or data[257:262] == b"ustar":
        return io.BytesIO(data)  # a tar (or a gzip tar): the whole context
    buf = io.BytesIO()  # a bare Dockerfile: a context of that file only
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def _key_values(pairs: tuple[str, ...], what: str, from_env: bool = False) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not key:
            raise CLIError(f"invalid {what}: {pair}")
        if not eq and from_env:
            if key not in os.environ:
                continue  # docker drops a --build-arg NAME that is not in the environment
            value = os.environ[key]
        out[key] = value
    return out


@click.command(context_settings={"help_option_names": ["--help"]})
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag in the 'name:tag' format")
@click.option("-f", "--file", "dockerfile", help="Name of the Dockerfile (Default is 'PATH/Dockerfile')")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables")
@click.option("--target", default="", help="Set the target build stage to build")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image")
@click.option("--network", default="", help="Set the networking mode for the RUN instructions")
@click.option("--add-host", "hosts", multiple=True, help="Add a custom host-to-IP mapping (host:ip)")
@click.option("--force-rm", is_flag=True, help="Always remove intermediate containers")
@click.option("--cache-from", "cache_from", multiple=True, help="Images to consider as cache sources")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print image ID on success")
@click.option("--iidfile", default="", help="Write the image ID to the file")
@click.argument("path")
def build(tags: tuple[str, ...], dockerfile: str | None, build_args: tuple[str, ...], target: str,
          no_cache: bool, pull: bool, labels: tuple[str, ...], network: str, hosts: tuple[str, ...],
          force_rm: bool, cache_from: tuple[str, ...], quiet: bool, iidfile: str, path: str) -> None:
    """Build an image from a Dockerfile."""
    name = dockerfile
    if path == "-":
        body: IO[bytes] = _stdin_context()
    elif os.path.isdir(path):
        body, name = _dir_context(path, dockerfile)
    elif os.path.isfile(path):
        body = open(path, "rb")  # a tar file is the context as it is
    else:
        raise CLIError(f"unable to prepare context: path \"{path}\" not found")
    params: dict[str, Any] = {
        "t": list(tags) or None, "dockerfile": name or None, "target": target or None,
        "buildargs": json.dumps(_key_values(build_args, "build-arg", True)) if build_args else None,
        "labels": json.dumps(_key_values(labels, "label")) if labels else None,
        "nocache": "1" if no_cache else None, "pull": "1" if pull else None, "rm": "1",
        "forcerm": "1" if force_rm else None, "q": "1" if quiet else None,
        "networkmode": network or None, "extrahosts": ",".join(hosts) or None,
        "cachefrom": json.dumps(list(cache_from)) if cache_from else None}
    resp = get_client().request("POST", "/build", params, body=body,
                                headers={"Content-Type": "application/x-tar"})
    try:
        image_id = _show(iter_json_stream(resp), quiet)
    finally:
        resp.close()
        body.close()
    if iidfile and image_id:
        with open(iidfile, "w") as f:
            f.write(image_id)
    if quiet and image_id:
        click.echo(image_id)


def _show(messages: Iterator[dict[str, Any]], quiet: bool) -> str:
    """Print the build's stream; returns the image ID. A terminal gets rich's live step view."""
    view = _LiveView() if sys.stdout.isatty() and not quiet else None
    image_id = ""
    try:
        for msg in messages:
            if msg.get("error") or msg.get("errorDetail"):
                detail = msg.get("errorDetail") or {}
                raise CLIError(str(msg.get("error") or detail.get("message")), int(detail.get("code") or 1))
            if (msg.get("aux") or {}).get("ID"):
                image_id = msg["aux"]["ID"]
            text = msg.get("stream")
            if text is None or quiet:
                continue
            if view is not None:
                view.feed(text)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
    finally:
        if view is not None:
            view.stop()
    return image_id


class _LiveView:
    """One line per step with its time and whether the cache had it; a spinner on the running step."""

    def __init__(self) -> None:
        from rich.console import Console
        self.console = Console()
        self.status: Any = None
        self.step = ""
        self.started = 0.0
        self.cached = False
        self.hits = 0
        self.begun = time.monotonic()

    def _finish_step(self) -> None:
        if self.step:
            mark = "[green]CACHED[/]" if self.cached else "[cyan]  DONE[/]"
            self.console.print(f"{mark} {time.monotonic() - self.started:5.1f}s  {self.step}",
                               highlight=False)
        self.step = ""

    def feed(self, text: str) -> None:
        if text.startswith("Step "):
            self._finish_step()
            self.step, self.started, self.cached = text.strip(), time.monotonic(), False
            if self.status is None:
                self.status = self.console.status(self.step)
                self.status.start()
            self.status.update(self.step)
        elif text == "\n" or text.startswith(" ---> ") or text.startswith("Removing intermediate"):
            if text.startswith(" ---> Using cache"):
                self.cached = True
                self.hits += 1
        elif text.startswith("Successfully built"):
            self._finish_step()
            self.console.print(f"{text.strip()} ({self.hits} cached, "
                               f"{time.monotonic() - self.begun:.1f}s)", highlight=False)
        else:
            self.console.out(text, end="", highlight=False)

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
        self._finish_step()
