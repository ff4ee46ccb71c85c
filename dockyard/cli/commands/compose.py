"""`dockyard compose`: the group, its project flags (-f, -p, --project-directory, --env-file, --profile), lifecycle verbs.

The work is done by `dockyard.compose` (the model and its convergence, a client of the API);
these commands parse flags, load the project and print.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from dockyard.cli.client import APIError, CLIError
from dockyard.cli.commands.common import client_of
from dockyard.cli.main import LazyGroup

if TYPE_CHECKING:
    from dockyard.compose.engine import Api
    from dockyard.compose.model import Project
    from dockyard.compose.progress import Reporter

_M = "dockyard.cli.commands."
SUBCOMMANDS = {
    **{n: f"{_M}compose:{n}_" for n in ("down", "stop", "start", "restart", "kill", "rm", "pause", "unpause",
                                         "create", "build", "pull", "push")},
    **{n: f"{_M}compose_up:{n}_" for n in ("up", "run", "exec", "logs")},
    **{n: f"{_M}compose_info:{n}_" for n in ("ps", "config", "images", "port", "top", "events", "ls",
                                              "version", "cp")},
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
@click.option("-f", "--file", "files", multiple=True, help="Compose configuration files")
@click.option("-p", "--project-name", help="Project name")
@click.option("--project-directory", help="Specify an alternate working directory")
@click.option("--env-file", "env_files", multiple=True, help="Specify an alternate environment file")
@click.option("--profile", "profiles", multiple=True, help="Specify a profile to enable")
@click.option("--progress", default="auto", help="Set type of progress output (auto, tty, plain, quiet)")
@click.option("--ansi", default="auto", help="Control when to print ANSI control characters")
@click.pass_context
def compose(ctx: click.Context, files: tuple[str, ...], project_name: str | None, project_directory: str | None,
            env_files: tuple[str, ...], profiles: tuple[str, ...], progress: str, ansi: str) -> None:
    """Define and run multi-container applications (the Compose Specification)."""
    ctx.meta["compose.flags"] = {"files": list(files), "project_name": project_name,
                                 "project_directory": project_directory, "env_files": list(env_files),
                                 "profiles": list(profiles)}
    ctx.meta["compose.quiet"] = progress == "quiet"


def load_project(services: list[str] | tuple[str, ...] = ()) -> "Project":
    """The project of the group's flags; naming a service with profiles enables it, as Compose does."""
    from dockyard.compose.errors import ComposeError
    from dockyard.compose.loader import Options, load

    opts = Options(**click.get_current_context().meta.get("compose.flags", {}))
    try:
        project = load(opts)
        if any(s in project.disabled for s in services):
            extra = [p for s in services if s in project.disabled for p in project.disabled[s].get("profiles", [])]
            opts.profiles = [*(opts.profiles or project.profiles), *extra]
            project = load(opts)
    except ComposeError as exc:
        raise CLIError(exc.message, exc.status) from None
    return project


def engine() -> "Api":
    from dockyard.compose.engine import Api

    return Api(client_of(click.get_current_context()), APIError)


def reporter() -> "Reporter":
    from dockyard.compose.progress import Reporter

    return Reporter(quiet=bool(click.get_current_context().find_root().meta.get("compose.quiet")))


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """ComposeError -> one line on stderr and its exit code."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from dockyard.compose.errors import ComposeError

        try:
            return fn(*args, **kwargs)
        except ComposeError as exc:
            raise CLIError(exc.message, exc.status) from None
    return wrapper


def services_arg(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("services", nargs=-1)(fn)


def timeout_opt(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-t", "--timeout", type=int, help="Specify a shutdown timeout in seconds")(fn)


def selected(project: "Project", services: tuple[str, ...]) -> list[str] | None:
    for name in services:
        project.service(name)
    return list(services) or None


# ------------------------------------------------------------------ lifecycle

@click.command(name="down")
@click.option("-v", "--volumes", is_flag=True, help="Remove named volumes declared in the volumes section")
@click.option("--rmi", type=click.Choice(["local", "all"]), help='Remove images used by services')
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the Compose file")
@timeout_opt
@guarded
def down_(volumes: bool, rmi: str | None, remove_orphans: bool, timeout: int | None) -> None:
    """Stop and remove containers, networks."""
    from dockyard.compose import ops

    ops.down(engine(), load_project(), reporter(), remove_orphans=remove_orphans, volumes=volumes, rmi=rmi,
             timeout=timeout)


@click.command(name="stop")
@timeout_opt
@services_arg
@guarded
def stop_(timeout: int | None, services: tuple[str, ...]) -> None:
    """Stop services."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.stop(engine(), project, reporter(), selected(project, services), timeout)


@click.command(name="start")
@services_arg
@guarded
def start_(services: tuple[str, ...]) -> None:
    """Start services."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.start(engine(), project, reporter(), selected(project, services))


@click.command(name="restart")
@timeout_opt
@click.option("--no-deps", is_flag=True, help="Don't restart dependent services")
@services_arg
@guarded
def restart_(timeout: int | None, no_deps: bool, services: tuple[str, ...]) -> None:
    """Restart service containers."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.simple(engine(), project, reporter(), "restart", selected(project, services),
               {"t": timeout} if timeout is not None else None)


@click.command(name="kill")
@click.option("-s", "--signal", "sig", default="SIGKILL", help="SIGNAL to send to the container")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the Compose file")
@services_arg
@guarded
def kill_(sig: str, remove_orphans: bool, services: tuple[str, ...]) -> None:
    """Force stop service containers."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.simple(engine(), project, reporter(), "kill", selected(project, services), {"signal": sig})


@click.command(name="pause")
@services_arg
@guarded
def pause_(services: tuple[str, ...]) -> None:
    """Pause services."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.simple(engine(), project, reporter(), "pause", selected(project, services))


@click.command(name="unpause")
@services_arg
@guarded
def unpause_(services: tuple[str, ...]) -> None:
    """Unpause services."""
    from dockyard.compose import ops

    project = load_project(services)
    ops.simple(engine(), project, reporter(), "unpause", selected(project, services))


@click.command(name="rm")
@click.option("-f", "--force", is_flag=True, help="Don't ask to confirm removal")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop the containers, if required, before removing")
@click.option("-v", "--volumes", is_flag=True, help="Remove any anonymous volumes attached to containers")
@services_arg
@guarded
def rm_(force: bool, stop_first: bool, volumes: bool, services: tuple[str, ...]) -> None:
    """Removes stopped service containers."""
    from dockyard.compose import ops

    project = load_project(services)
    api, report = engine(), reporter()
    if stop_first:
        ops.stop(api, project, report, selected(project, services))
    if not ops.remove(api, project, report, selected(project, services), volumes=volumes):
        click.echo("No stopped containers", err=True)


@click.command(name="create")
@click.option("--build", is_flag=True, help="Build images before starting containers")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's policy")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration hasn't changed")
@click.option("--no-recreate", is_flag=True, help="If containers already exist, don't recreate them")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the Compose file")
@click.option("--pull", default="missing", help='Pull image before running ("always"|"missing"|"never")')
@services_arg
@guarded
def create_(build: bool, no_build: bool, force_recreate: bool, no_recreate: bool, remove_orphans: bool, pull: str,
            services: tuple[str, ...]) -> None:
    """Creates containers for a service."""
    from dockyard.compose.up import Converger, UpOptions

    project = load_project(services)
    opts = UpOptions(services=list(services), build=build, no_build=no_build, force_recreate=force_recreate,
                     no_recreate=no_recreate, remove_orphans=remove_orphans, pull=pull, no_start=True)
    Converger(engine(), project, reporter(), opts).run()


@click.command(name="build")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("-q", "--quiet", is_flag=True, help="Don't print anything to STDOUT")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image")
@services_arg
@guarded
def build_(no_cache: bool, quiet: bool, pull: bool, services: tuple[str, ...]) -> None:
    """Build or rebuild services."""
    from dockyard.compose.progress import Reporter
    from dockyard.compose.resources import build_image

    project = load_project(services)
    report = Reporter(quiet=quiet)
    for name in selected(project, services) or sorted(project.services):
        if "build" in project.services[name]:
            build_image(engine(), project, name, report, no_cache=no_cache)


@click.command(name="pull")
@click.option("-q", "--quiet", is_flag=True, help="Pull without printing progress information")
@click.option("--ignore-pull-failures", is_flag=True, help="Pull what it can and ignores images with pull failures")
@click.option("--ignore-buildable", is_flag=True, help="Ignore images that can be built")
@services_arg
@guarded
def pull_(quiet: bool, ignore_pull_failures: bool, ignore_buildable: bool, services: tuple[str, ...]) -> None:
    """Pull service images."""
    from dockyard.compose.errors import ComposeError
    from dockyard.compose.progress import Reporter
    from dockyard.compose.resources import pull_image

    project = load_project(services)
    report = Reporter(quiet=quiet)
    failed = None
    for name in selected(project, services) or sorted(project.services):
        svc = project.services[name]
        if "image" not in svc or (ignore_buildable and "build" in svc):
            continue
        try:
            pull_image(engine(), svc["image"], report, name)
        except ComposeError as exc:
            if "build" in svc:
                report.warn(f"{name}: {exc.message} (the image can be built)")
                continue
            click.echo(exc.message, err=True)
            failed = failed or exc
    if failed and not ignore_pull_failures:
        raise failed


@click.command(name="push")
@click.option("-q", "--quiet", is_flag=True, help="Push without printing progress information")
@click.option("--ignore-push-failures", is_flag=True, help="Push what it can and ignores images with push failures")
@services_arg
@guarded
def push_(quiet: bool, ignore_push_failures: bool, services: tuple[str, ...]) -> None:
    """Push service images."""
    from dockyard.compose.errors import ComposeError
    from dockyard.compose.progress import Reporter
    from dockyard.compose.resources import push_image

    project = load_project(services)
    report = Reporter(quiet=quiet)
    for name in selected(project, services) or sorted(project.services):
        svc = project.services[name]
        if "image" not in svc:
            continue
        try:
            push_image(engine(), svc["image"], report, _auth_headers(svc["image"]))
        except ComposeError as exc:
            if not ignore_push_failures:
                raise
            click.echo(exc.message, err=True)


def _auth_headers(image: str) -> dict[str, str]:
    from dockyard.cli.commands.registry import auth_header, registry_of

    return {"X-Registry-Auth": auth_header(registry_of(image))}


def exit_with(code: int) -> None:
    sys.stdout.flush()
    raise SystemExit(code)
