"""What every command shares: the client from the context, per-item errors, binary output, progress."""
from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO, Callable, Iterable

import click

from dockyard.cli.client import CLIError, Client, TLSOptions, iter_json_stream
from dockyard.cli.formatting import render
from dockyard.cli.gotemplate import TemplateError


def client_of(ctx: click.Context) -> Client:
    root = ctx.find_root()
    if root.obj is None:
        p = root.params
        tls = TLSOptions(bool(p.get("tls")), True if p.get("tlsverify") else None,
                         p.get("tlscacert"), p.get("tlscert"), p.get("tlskey"))
        root.obj = Client(p.get("host"), tls=tls)
    return root.obj


pass_client = click.make_pass_decorator(Client, ensure=False)


def get_client() -> Client:
    return client_of(click.get_current_context())


def for_each(items: Iterable[str], action: Callable[[str], Any], echo: bool = True,
             summary: str | None = None) -> None:
    """docker's pattern for `rm a b c`: print each success, each error on stderr, exit 1 if any failed."""
    failed: list[str] = []
    for item in items:
        try:
            result = action(item)
        except CLIError as exc:
            click.echo(exc.message, err=True)
            failed.append(item)
            continue
        if echo:
            click.echo(item if result is None else result)
    if failed:
        if summary:
            click.echo(f"Error: {summary}: {', '.join(failed)}", err=True)
        raise SystemExit(1)


def emit_template(fmt: str, rows: list[Any], header: dict[str, str] | None = None, table: bool = True,
                  error_prefix: str = "failed to parse template", status: int = 1) -> None:
    """Render rows with a --format template on stdout; a bad template is a one-line error."""
    if not table and fmt.startswith("table"):
        fmt = fmt[len("table"):]
    try:
        sys.stdout.write(render(fmt, rows, header))
    except TemplateError as exc:
        raise CLIError(f"{error_prefix}: {exc}", status) from None


def open_output(path: str | None, what: str = "save") -> BinaryIO:
    """-o FILE, or stdout unless it is a terminal (docker refuses to write a tar there)."""
    if path:
        try:
            return open(path, "wb")
        except OSError as exc:
            raise CLIError(f"failed to {what}: {exc}") from None
    if os.isatty(sys.stdout.fileno()):
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    return sys.stdout.buffer


def open_input(path: str | None) -> BinaryIO:
    if path and path != "-":
        try:
            return open(path, "rb")
        except OSError as exc:
            raise CLIError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    return sys.stdin.buffer


def show_json_stream(resp: Any, out: Any = None, on_status: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Display a JSON progress stream (pull, import, load); raise on an `error` message.

    On a terminal, layer progress is drawn with rich; elsewhere one line a message,
    as docker's jsonmessage does.
    """
    stream = out or sys.stdout
    tty = stream.isatty()
    display = _RichProgress(stream) if tty else None
    try:
        for msg in iter_json_stream(resp):
            if msg.get("error") or msg.get("errorDetail"):
                detail = msg.get("errorDetail") or {}
                raise CLIError(str(msg.get("error") or detail.get("message") or "unknown error"))
            if on_status:
                on_status(msg)
            if "stream" in msg:
                stream.write(msg["stream"])
                stream.flush()
                continue
            if "status" not in msg and "progress" not in msg:
                continue
            if display is not None and display.update(msg):
                continue
            prefix = f"{msg['id']}: " if msg.get("id") else ""
            line = f"{prefix}{msg.get('status', '')}"
            if display is not None and display.progress is not None:
                display.progress.console.print(line, markup=False, highlight=False)
            else:
                stream.write(line + "\n")
                stream.flush()
    finally:
        if display is not None:
            display.stop()


class _RichProgress:
    """Per-layer progress bars (rich is imported only when a terminal shows progress)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}

    def update(self, msg: dict[str, Any]) -> bool:
        detail = msg.get("progressDetail") or {}
        ident = msg.get("id")
        if not ident or not detail.get("total"):
            if ident and ident in self.tasks:
                self.progress.update(self.tasks[ident], description=f"{ident}: {msg.get('status', '')}")
                return True
            return False
        if self.progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                     console=Console(file=self.stream), transient=False)
            self.progress.start()
        task = self.tasks.get(ident)
        description = f"{ident}: {msg.get('status', '')}"
        if task is None:
            self.tasks[ident] = self.progress.add_task(description, total=detail["total"], completed=detail.get("current", 0))
        else:
            self.progress.update(task, description=description, total=detail["total"], completed=detail.get("current", 0))
        return True

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
