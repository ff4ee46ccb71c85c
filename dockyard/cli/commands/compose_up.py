"""`dockyard compose up`, `run`, `exec`, `logs`: the commands that attach to containers' streams."""
from __future__ import annotations

import os
import sys
import threading
from typing import Any

import click

from dockyard.cli.client import CLIError
from dockyard.cli.commands.compose import engine, exit_with, guarded, load_project, reporter, selected, services_arg


def _scale(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for v in values:
        name, _, n = v.partition("=")
        if not n.isdigit():
            raise CLIError(f"invalid --scale {v!r}: expected SERVICE=NUM")
        out[name] = int(n)
    return out


@click.command(name="up")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: Run containers in the background")
@click.option("--build", is_flag=True, help="Build images before starting containers")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's policy")
@click.option("--wait", is_flag=True, help="Wait for services to be running|healthy. Implies detached mode")
@click.option("--wait-timeout", type=int, help="Maximum duration in seconds to wait for the project to be running|healthy")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration hasn't changed")
@click.option("--no-recreate", is_flag=True, help="If containers already exist, don't recreate them")
@click.option("--no-deps", is_flag=True, help="Don't start linked services")
@click.option("--no-start", is_flag=True, help="Don't start the services after creating them")
@click.option("--remove-orphans", is_flag=True, help="Remove containers for services not defined in the Compose file")
@click.option("--scale", multiple=True, help="Scale SERVICE to NUM instances (SERVICE=NUM)")
@click.option("--abort-on-container-exit", is_flag=True, help="Stops all containers if any container was stopped")
@click.option("--exit-code-from", help="Return the exit code of the selected service container")
@click.option("--pull", default="missing", help='Pull image before running ("always"|"missing"|"never")')
@click.option("--no-color", is_flag=True, help="Produce monochrome output")
@click.option("-t", "--timeout", type=int, help="Use this timeout in seconds for container shutdown")
@services_arg
@guarded
def up_(detach: bool, build: bool, no_build: bool, wait: bool, wait_timeout: int | None, force_recreate: bool,
        no_recreate: bool, no_deps: bool, no_start: bool, remove_orphans: bool, scale: tuple[str, ...],
        abort_on_container_exit: bool, exit_code_from: str | None, pull: str, no_color: bool,
        timeout: int | None, services: tuple[str, ...]) -> None:
    """Create and start containers."""
    from dockyard.compose.attach import run_attached, wait_ready
    from dockyard.compose.up import Converger, UpOptions

    if exit_code_from:
        abort_on_container_exit = True
    if (detach or wait) and abort_on_container_exit:
        raise CLIError("--abort-on-container-exit and --detach are incompatible options")
    project = load_project(services)
    if exit_code_from:
        project.service(exit_code_from)
    opts = UpOptions(services=list(services), force_recreate=force_recreate, no_recreate=no_recreate,
                     no_deps=no_deps, no_start=no_start, remove_orphans=remove_orphans, build=build,
                     no_build=no_build, scale=_scale(scale), pull=pull, timeout=timeout)
    api = engine()
    names = Converger(api, project, reporter(), opts).run()
    if no_start:
        return
    if wait:
        wait_ready(api, project, names, reporter(), wait_timeout)
        return
    if detach:
        return
    colour = sys.stdout.isatty() and not no_color and "NO_COLOR" not in os.environ
    code = run_attached(api, project, names, sys.stdout.buffer, colour=colour, abort=abort_on_container_exit,
                        exit_code_from=exit_code_from, timeout=timeout)
    exit_with(code)


@click.command(name="logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
@click.option("--since", help="Show logs since timestamp or relative (e.g. 42m)")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.option("--no-color", is_flag=True, help="Produce monochrome output")
@click.option("--no-log-prefix", is_flag=True, help="Don't print prefix in logs")
@services_arg
@guarded
def logs_(follow: bool, tail: str, since: str | None, timestamps: bool, no_color: bool, no_log_prefix: bool,
          services: tuple[str, ...]) -> None:
    """View output from containers."""
    from dockyard.compose.engine import name_of
    from dockyard.compose.logs import Printer, follow_all
    from dockyard.compose.ops import by_service

    project = load_project(services)
    api = engine()
    containers = [c for cs in by_service(api, project, selected(project, services)).values() for c in cs]
    colour = sys.stdout.isatty() and not no_color and "NO_COLOR" not in os.environ
    printer = Printer(sys.stdout.buffer, [name_of(c) for c in containers], colour, prefix=not no_log_prefix)
    threads = follow_all(api, containers, printer, follow=follow, tail=tail, since=since, timestamps=timestamps)
    for t in threads:
        while t.is_alive():
            t.join(0.2)


@click.command(name="exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: Run command in the background")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("--index", type=int, default=1, help="Index of the container if service has multiple replicas")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Disable pseudo-TTY allocation")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the process")
@click.option("-u", "--user", help="Run the command as this user")
@click.option("-w", "--workdir", help="Path to workdir directory for this command")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
@guarded
def exec_(ctx: click.Context, detach: bool, env: tuple[str, ...], index: int, no_tty: bool, privileged: bool,
          user: str | None, workdir: str | None, service: str, command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    from dockyard.cli.commands.exec import exec_ as docker_exec
    from dockyard.compose.engine import number_of

    project = load_project([service])
    project.service(service)
    running = [c for c in engine().containers(project.name, service) if c.get("State") == "running"]
    target = next((c for c in running if number_of(c) == index), None)
    if target is None:
        raise CLIError(f"service \"{service}\" is not running" if not running
                       else f"service \"{service}\" is not running container #{index}")
    tty = not no_tty and sys.stdin.isatty()
    ctx.invoke(docker_exec, detach=detach, detach_keys=None, env=env, interactive=not detach, privileged=privileged,
               tty=tty, user=user, workdir=workdir, container=target["Id"], command=command)


@click.command(name="run", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print container ID")
@click.option("--rm", is_flag=True, help="Automatically remove the container when it exits")
@click.option("-e", "--env", multiple=True, help="Set environment variables")
@click.option("-l", "--label", multiple=True, help="Add or override a label")
@click.option("--name", help="Assign a name to the container")
@click.option("--entrypoint", help="Override the entrypoint of the image")
@click.option("--no-deps", is_flag=True, help="Don't start linked services")
@click.option("--service-ports", is_flag=True, help="Run command with the service's ports enabled and mapped to the host")
@click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Disable pseudo-TTY allocation")
@click.option("-i", "--interactive", is_flag=True, default=True, help="Keep STDIN open even if not attached")
@click.option("-u", "--user", help="Run as specified username or uid")
@click.option("-w", "--workdir", help="Working directory inside the container")
@click.option("-v", "--volume", multiple=True, help="Bind mount a volume")
@click.option("--build", is_flag=True, help="Build image before starting container")
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@guarded
def run_(detach: bool, rm: bool, env: tuple[str, ...], label: tuple[str, ...], name: str | None,
         entrypoint: str | None, no_deps: bool, service_ports: bool, publish: tuple[str, ...], no_tty: bool,
         interactive: bool, user: str | None, workdir: str | None, volume: tuple[str, ...], build: bool,
         service: str, command: tuple[str, ...]) -> None:
    """Run a one-off command on a service."""
    from dockyard.cli.commands.run import attach_start_wait
    from dockyard.compose.oneoff import RunOptions, create_oneoff

    project = load_project([service])
    project.service(service)
    api = engine()
    tty = not no_tty and sys.stdin.isatty() and not detach
    opts = RunOptions(service=service, command=list(command) or None, entrypoint=entrypoint, env=list(env),
                      labels=list(label), name=name, no_deps=no_deps, service_ports=service_ports,
                      publish=list(publish), tty=tty, interactive=interactive and not detach, user=user,
                      workdir=workdir, volumes=list(volume), remove=rm, build=build)
    cid = create_oneoff(api, project, opts, reporter())
    if detach:
        api.call("POST", f"/containers/{cid}/start")
        click.echo(cid)
        return
    code = attach_start_wait(api.client, cid, tty=tty, stdin=opts.interactive, auto_remove=rm)  # type: ignore[arg-type]
    exit_with(code)
