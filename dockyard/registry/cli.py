"""`dockyard registry` / `dockyard-registry`: serve the registry, collect its garbage, make htpasswd entries."""
from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import sys

import click

from .config import ConfigError, load


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Dockyard's registry server (OCI distribution spec v1.1, Docker Registry HTTP API V2)."""


@main.command()
@click.option("--listen", help="Address to listen on, HOST:PORT (default 127.0.0.1:5000)")
@click.option("--root", help="Data directory (blobs, repositories, upload sessions)")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML configuration file")
@click.option("--log-level", default=None, help="debug, info, warning, error")
@click.option("--pid-file", type=click.Path(dir_okay=False), help="Write the server's pid here once listening")
def serve(listen: str | None, root: str | None, config_path: str | None, log_level: str | None,
          pid_file: str | None) -> None:
    """Serve the registry API until SIGINT/SIGTERM."""
    from .assembly import build, make_ssl
    from .server import serve as serve_http, split_listen

    try:
        config = load(config_path, listen=listen, root=root)
        app = build(config)
        ssl_context = make_ssl(config)
        host, port = split_listen(config.listen)
    except (ConfigError, OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    logging.basicConfig(level=(log_level or config.log_level).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("dockyard.registry")

    def ready(server: asyncio.Server) -> None:
        addresses = [s.getsockname() for s in server.sockets]
        log.info("listening on %s (%s, %s storage at %s)", addresses, "https" if ssl_context else "http",
                 config.backend, config.root)
        if pid_file:
            with open(pid_file, "w") as f:
                f.write(f"{os.getpid()}\n")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(serve_http(app, host, port, ssl_context, ready))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("stopped")

    asyncio.run(run())


@main.command()
@click.option("--root", help="Data directory of the registry")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML configuration file")
@click.option("--dry-run", is_flag=True, help="Only report what would be deleted")
@click.option("--delete-untagged", is_flag=True, help="Also delete manifests no tag reaches")
@click.option("--grace", default=3600.0, show_default=True, type=float,
              help="Keep unreferenced blobs younger than this many seconds (pushes in flight)")
def gc(root: str | None, config_path: str | None, dry_run: bool, delete_untagged: bool, grace: float) -> None:
    """Delete blobs no manifest references."""
    from .assembly import make_storage
    from .gc import collect
    from .uploads import Uploads

    try:
        config = load(config_path, root=root)
        storage = make_storage(config)
    except (ConfigError, OSError) as e:
        raise click.ClickException(str(e)) from None
    report = collect(storage, config.root, grace=grace, dry_run=dry_run, delete_untagged=delete_untagged,
                     uploads=Uploads(config.root))
    verb = "would delete" if dry_run else "deleted"
    for name in report.manifests_removed:
        click.echo(f"manifest {verb}: {name}")
    for digest in report.swept:
        click.echo(f"blob {verb}: {digest}")
    click.echo(f"{report.marked} blobs marked, {len(report.swept)} blobs {verb} ({report.freed} bytes), "
               f"{report.kept_recent} recent blobs kept, {report.links_removed} links and "
               f"{report.uploads_purged} stale uploads removed")


@main.command()
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin")
def htpasswd(user: str, password_stdin: bool) -> None:
    """Print an htpasswd line (bcrypt) for USER."""
    from .auth.htpasswd import hash_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    click.echo(f"{user}:{hash_password(password)}")


if __name__ == "__main__":
    main(prog_name="dockyard registry")
