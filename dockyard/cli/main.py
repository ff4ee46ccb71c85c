"""The `dockyard` command: global flags, the command tree (docker's names and aliases), error reporting."""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from dockyard.cli.client import CLIENT_VERSION, CLIError

_C = "dockyard.cli.commands."
# name -> "module:attribute": a command's module is imported only when that command runs
TOP = {
    **{n: f"{_C}run:{n}" for n in ("run", "create", "start", "attach")},
    "exec": f"{_C}exec:exec_",
    "build": f"{_C}build:build",
    **{n: f"{_C}live:{n}" for n in ("stats", "diff", "update")},
    **{n: f"{_C}containers:{n}" for n in ("ps", "logs", "stop", "restart", "kill", "wait", "rm", "rename",
                                          "pause", "unpause", "top", "export")},
    **{n: f"{_C}images:{n}" for n in ("images", "rmi", "tag", "pull", "save", "load", "history")},
    "import": f"{_C}images:import_",
    **{n: f"{_C}files:{n}" for n in ("commit", "cp")},
    **{n: f"{_C}registry:{n}" for n in ("login", "logout", "push")},
    **{n: f"{_C}system:{n}" for n in ("version", "info", "inspect")},
}
CONTAINER = {
    **{n: TOP[n] for n in ("run", "create", "start", "logs", "stop", "restart", "kill", "wait", "rm", "rename",
                           "pause", "unpause", "top", "export", "attach", "exec", "stats", "diff",
                           "update", "commit", "cp")},
    "ls": TOP["ps"], "ps": TOP["ps"], "list": TOP["ps"],
    "inspect": f"{_C}system:container_inspect",
    "prune": f"{_C}containers:container_prune",
}
IMAGE = {
    **{n: TOP[n] for n in ("tag", "pull", "push", "save", "load", "history", "import", "build")},
    "ls": TOP["images"], "list": TOP["images"], "rm": TOP["rmi"], "remove": TOP["rmi"],
    "inspect": f"{_C}system:image_inspect",
    "prune": f"{_C}images:image_prune",
}
SYSTEM = {"info": TOP["info"]}
NETWORK = {n: f"{_C}networks:network_{n}" for n in ("create", "ls", "inspect", "rm", "prune", "connect",
                                                   "disconnect")}
NETWORK.update({"list": NETWORK["ls"], "remove": NETWORK["rm"]})
VOLUME = {n: f"{_C}volumes:volume_{n}" for n in ("create", "ls", "inspect", "rm", "prune")}
VOLUME.update({"list": VOLUME["ls"], "remove": VOLUME["rm"]})
TOP["port"] = f"{_C}networks:port"
TOP["compose"] = f"{_C}compose:compose"
CONTAINER["port"] = TOP["port"]


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=TOP, context_settings={"help_option_names": ["--help"]})
@click.option("-H", "--host", help="Daemon socket to connect to (unix:///path, tcp://host:port); "
              "default $DOCKYARD_HOST, else $DOCKER_HOST")
@click.option("--tls", is_flag=True, help="Use TLS; implied by --tlsverify")
@click.option("--tlsverify", is_flag=True, help="Use TLS and verify the daemon (default $DOCKER_TLS_VERIFY)")
@click.option("--tlscacert", help="Trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem)")
@click.option("--tlscert", help="Path to TLS certificate file (default $DOCKER_CERT_PATH/cert.pem)")
@click.option("--tlskey", help="Path to TLS key file (default $DOCKER_CERT_PATH/key.pem)")
@click.option("-D", "--debug", is_flag=True, help="Enable debug mode")
@click.option("-l", "--log-level", default="info", help="Set the logging level")
@click.version_option(CLIENT_VERSION, "-v", "--version", message="Dockyard version %(version)s")
def cli(host: str | None, debug: bool, log_level: str, **tls: object) -> None:
    """A self-sufficient runtime for containers (a client of the Docker Engine API)."""


@cli.group(cls=LazyGroup, lazy=CONTAINER)
def container() -> None:
    """Manage containers."""


@cli.group(cls=LazyGroup, lazy=IMAGE)
def image() -> None:
    """Manage images."""


@cli.group(cls=LazyGroup, lazy=NETWORK)
def network() -> None:
    """Manage networks."""


@cli.group(cls=LazyGroup, lazy=VOLUME)
def volume() -> None:
    """Manage volumes."""


@cli.group(name="system", cls=LazyGroup, lazy=SYSTEM)
def system_group() -> None:
    """Manage Dockyard."""


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def registry(args: tuple[str, ...]) -> None:
    """Run Dockyard's registry server (its own process, also installed as dockyard-registry)."""
    os.execvp(sys.executable, [sys.executable, "-m", "dockyard.registry.cli", *args])


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr for every error, never a traceback; docker's exit codes."""
    try:
        cli.main(args=argv, prog_name="dockyard", standalone_mode=False)
    except CLIError as exc:
        _flush_quietly()
        click.echo(exc.message, err=True)
        sys.exit(exc.status)
    except click.UsageError as exc:
        exc.show()
        sys.exit(125)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (dockyard ps | head): exit quietly like docker
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    _flush_quietly()


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    main()
