"""System commands: version, info, and the generic inspect."""
from __future__ import annotations

import platform
import sys
from typing import Any

import click

from dockyard.cli.client import API_VERSION, APIError, CLIError, CLIENT_VERSION, Client
from dockyard.cli.commands.common import emit_template, get_client
from dockyard.cli.formatting import indent_json, prepare
from dockyard.cli.gotemplate import Template, TemplateError
from dockyard.cli.humanize import bytes_size
from dockyard.cli.tabwriter import tabulate

VERSION_TEMPLATE = """{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}
 Python version:\t{{.PythonVersion}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- range $key, $value := .Details}}
  {{$key}}:\t{{$value}}
  {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"""

ENGINE_DETAILS = ("ApiVersion", "MinAPIVersion", "GoVersion", "GitCommit", "BuildTime", "Os", "Arch", "Experimental")


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


class VersionInfo:
    """What the version template sees: .Client, .Server and .ServerOK."""

    def __init__(self, client: dict[str, Any], server: dict[str, Any] | None) -> None:
        self.Client = client
        self.Server = server

    def ServerOK(self) -> bool:
        return self.Server is not None

    def to_json(self) -> dict[str, Any]:
        return {"Client": self.Client, "Server": self.Server}


def client_version() -> dict[str, Any]:
    return {"Platform": {"Name": "Dockyard"}, "Version": CLIENT_VERSION, "APIVersion": API_VERSION,
            "DefaultAPIVersion": API_VERSION, "PythonVersion": platform.python_version(),
            "Os": sys.platform if sys.platform != "linux" else "linux", "Arch": go_arch(), "Context": "default"}


def server_version(data: dict[str, Any]) -> dict[str, Any]:
    """Fill in the Engine component from the top-level fields when the daemon sends none."""
    server = dict(data)
    server.setdefault("Platform", {"Name": ""})
    if not server.get("Components"):
        details = {k: str(data.get(k, "")) for k in ENGINE_DETAILS}
        details["BuildTime"] = str(data.get("BuildTime", ""))
        server["Components"] = [{"Name": "Engine", "Version": data.get("Version", ""), "Details": details}]
    for component in server["Components"]:
        details = component.get("Details") or {}
        if component.get("Name") == "Engine":
            for key in ENGINE_DETAILS:
                details.setdefault(key, "")
        component["Details"] = details
    return server


@click.command()
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
def version(fmt: str | None) -> None:
    """Show the Dockyard version information."""
    client = get_client()
    error: CLIError | None = None
    server = None
    try:
        server = server_version(client.get("/version"))
    except CLIError as exc:
        error = exc
    info = VersionInfo(client_version(), server)
    try:
        if fmt == "json":
            fmt = "{{json .}}"
        tmpl = Template(prepare(fmt) if fmt else VERSION_TEMPLATE)
        text = tmpl.execute(info) + "\n"
    except TemplateError as exc:
        raise CLIError(f"failed to parse template: {exc}") from None
    sys.stdout.write(tabulate(text, minwidth=20, padding=1) if not fmt else text)
    if error:
        raise error


def _info_lines(info: dict[str, Any]) -> list[str]:
    lines = [
        f" Containers: {info.get('Containers', 0)}",
        f"  Running: {info.get('ContainersRunning', 0)}",
        f"  Paused: {info.get('ContainersPaused', 0)}",
        f"  Stopped: {info.get('ContainersStopped', 0)}",
        f" Images: {info.get('Images', 0)}",
        f" Server Version: {info.get('ServerVersion', '')}",
        f" Storage Driver: {info.get('Driver', '')}",
    ]
    lines += [f"  {k}: {v}" for k, v in info.get("DriverStatus") or []]
    lines += [f" Logging Driver: {info.get('LoggingDriver', '')}",
              f" Cgroup Driver: {info.get('CgroupDriver', '')}",
              f" Cgroup Version: {info.get('CgroupVersion', '')}",
              " Plugins:"]
    plugins = info.get("Plugins") or {}
    for kind in ("Volume", "Network", "Authorization", "Log"):
        if plugins.get(kind):
            lines.append(f"  {kind}: {' '.join(plugins[kind])}")
    swarm = (info.get("Swarm") or {}).get("LocalNodeState")
    if swarm:
        lines.append(f" Swarm: {swarm}")
    runtimes = info.get("Runtimes") or {}
    if runtimes:
        lines.append(f" Runtimes: {' '.join(sorted(runtimes))}")
    lines += [f" Default Runtime: {info.get('DefaultRuntime', '')}",
              f" Init Binary: {info.get('InitBinary', '')}",
              f" containerd version: {(info.get('ContainerdCommit') or {}).get('ID', '')}",
              f" runc version: {(info.get('RuncCommit') or {}).get('ID', '')}",
              f" init version: {(info.get('InitCommit') or {}).get('ID', '')}",
              f" Kernel Version: {info.get('KernelVersion', '')}",
              f" Operating System: {info.get('OperatingSystem', '')}",
              f" OSType: {info.get('OSType', '')}",
              f" Architecture: {info.get('Architecture', '')}",
              f" CPUs: {info.get('NCPU', 0)}",
              f" Total Memory: {bytes_size(info.get('MemTotal') or 0)}",
              f" Name: {info.get('Name', '')}",
              f" ID: {info.get('ID', '')}",
              f" Docker Root Dir: {info.get('DockerRootDir', '')}",
              f" Debug Mode: {str(bool(info.get('Debug'))).lower()}",
              f" Experimental: {str(bool(info.get('ExperimentalBuild'))).lower()}"]
    registries = (info.get("RegistryConfig") or {}).get("InsecureRegistryCIDRs") or []
    if registries:
        lines.append(" Insecure Registries:")
        lines += [f"  {r}" for r in registries]
    lines.append(f" Live Restore Enabled: {str(bool(info.get('LiveRestoreEnabled'))).lower()}")
    lines += [f"WARNING: {w}" for w in info.get("Warnings") or []]
    return lines


@click.command()
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
def info(fmt: str | None) -> None:
    """Display system-wide information."""
    data = get_client().get("/info") or {}
    if fmt:
        if fmt == "json":
            fmt = "{{json .}}"
        emit_template(fmt, [data])
        return
    head = ["Client:", f" Version:    {CLIENT_VERSION}", " Context:    default", " Debug Mode: false", "",
            "Server:"]
    click.echo("\n".join(head + _info_lines(data)))


def _inspect_one(client: Client, name: str, kind: str | None, size: bool) -> Any:
    kinds = [kind] if kind else ["container", "image"]
    for k in kinds:
        path = f"/containers/{name}/json" if k == "container" else f"/images/{name}/json"
        try:
            return client.get(path, {"size": 1} if (size and k == "container") else None)
        except APIError as exc:
            if exc.status_code != 404 or kind:
                raise
    raise CLIError(f"Error: No such object: {name}")


def inspect_objects(names: tuple[str, ...], kind: str | None, fmt: str | None, size: bool) -> None:
    if kind not in (None, "container", "image"):
        raise CLIError(f"\"{kind}\" is not a valid value for --type")
    client = get_client()
    found: list[Any] = []
    errors: list[str] = []
    for name in names:
        try:
            found.append(_inspect_one(client, name, kind, size))
        except CLIError as exc:
            errors.append(exc.message)
    if fmt:
        emit_template(fmt, found, table=False, error_prefix="template parsing error", status=64)
    else:
        sys.stdout.write(indent_json(found) + "\n")
    if errors:
        for message in errors:
            click.echo(message, err=True)
        raise SystemExit(1)


@click.command()
@click.option("--type", "kind", help="Return JSON for specified type")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is container")
@click.argument("names", nargs=-1, required=True)
def inspect(kind: str | None, fmt: str | None, size: bool, names: tuple[str, ...]) -> None:
    """Return low-level information on Dockyard objects."""
    inspect_objects(names, kind, fmt, size)


@click.command(name="inspect")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes")
@click.argument("names", nargs=-1, required=True)
def container_inspect(fmt: str | None, size: bool, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    inspect_objects(names, "container", fmt, size)


@click.command(name="inspect")
@click.option("-f", "--format", "fmt", help="Format output using a custom template")
@click.argument("names", nargs=-1, required=True)
def image_inspect(fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more images."""
    inspect_objects(names, "image", fmt, False)


COMMANDS = [version, info, inspect]
