"""The layering rules of docs/architecture.md: the whole layer order (entry points -> api -> services ->
components -> stores -> data types -> linux), who may import the API edge and the CLI, where ctypes
and mount commands may appear, and that every module imports on its own (no hidden import-order
dependencies)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "dockyard"

# Packages only entry points may import: nothing below them depends on them.
EDGE_PACKAGES = {"api": {"api", "daemon"}, "cli": {"cli"}, "compose": {"compose", "cli"}}
# Client-side packages: they talk to the API only, so they work against a real dockerd too.
CLIENT_PACKAGES = ("cli", "compose")
# What a client package may import beyond itself: `dockyard compose` is the CLI's front end to the
# compose library, which gets its Engine API client handed in and so imports neither.
CLIENT_MAY_IMPORT = {"cli": {"compose"}, "compose": set()}
# Pure data-format modules with no Dockyard imports of their own: clients may share them.
SHARED_WITH_CLIENTS = {"timefmt"}

# The layers of docs/architecture.md, top to bottom. A package imports only packages of a lower
# layer (or itself); every package of dockyard/ must be placed here.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("entry points", frozenset({"daemon", "cli", "compose"})),
    ("api", frozenset({"api"})),
    ("services", frozenset({"containers", "registry", "build", "plugins"})),
    ("components", frozenset({"images", "distribution", "network", "volumes", "logging"})),
    ("stores", frozenset({"content", "snapshots", "store", "runtime", "cgroups"})),
    ("data types", frozenset({"errors", "timefmt", "mediatypes", "httpserver"})),
    ("kernel", frozenset({"linux"})),
)
# Imports across one layer or up it that are part of the design, each with its reason.
ALLOWED_EDGES = {
    ("cli", "compose"): "`dockyard compose` is the CLI's front end to the compose library, which is a "
                        "client of the Engine API too (CLIENT_MAY_IMPORT)",
    ("build", "containers"): "the builder runs each RUN step as a container through the container "
                             "service and resolves --chown users as a container's User is resolved",
    ("distribution", "images"): "a pull commits into the image store, a push reads it (components)",
    ("runtime", "cgroups"): "the runtime library puts containers in cgroups (runc's libcontainer does too)",
    ("runtime", "logging"): "the supervisor writes logs through the log drivers so they survive a daemon "
                            "restart; logging imports only the data types",
}
# The registry server is its own process: it imports no daemon package, only the shared leaves.
REGISTRY_MAY_IMPORT = {"registry", "httpserver", "mediatypes", "timefmt"}


@dataclass(frozen=True)
class Import:
    importer: str   # dotted module name
    target: str     # dotted name imported (module, or module.attribute for `from x import y`)
    line: int
    path: str


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


@lru_cache(maxsize=None)
def all_imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for name, path in all_modules().items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):  # lazy imports inside functions count too
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(name, alias.name, node.lineno, str(path.relative_to(REPO))))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = name.split(".") if is_pkg else name.split(".")[:-1]
                    if node.level > 1:
                        base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    target = f"{base}.{alias.name}" if alias.name != "*" else base
                    found.append(Import(name, target, node.lineno, str(path.relative_to(REPO))))
    return tuple(found)


def package_of(dotted: str) -> str | None:
    """'dockyard.api.http' -> 'api'; 'dockyard.errors' -> 'errors'; outside dockyard -> None."""
    parts = dotted.split(".")
    if parts[0] != "dockyard":
        return None
    return parts[1] if len(parts) > 1 else ""


def describe(bad: list[Import]) -> str:
    return "\n".join(f"  {i.path}:{i.line}: {i.importer} imports {i.target}" for i in bad)


def test_the_import_scanner_sees_relative_and_lazy_imports() -> None:
    # guards the rules below against passing because the scanner found nothing
    imports = all_imports()
    assert len(all_modules()) > 20
    assert any(i.importer == "dockyard.api.router" and i.target == "dockyard.errors" for i in imports)
    assert any(i.importer == "dockyard.daemon.main" and i.target.startswith("dockyard.api.") for i in imports)
    assert any(i.target == "ctypes" for i in imports)


@pytest.mark.parametrize("edge", sorted(EDGE_PACKAGES))
def test_edge_packages_are_imported_only_by_entry_points(edge: str) -> None:
    allowed = EDGE_PACKAGES[edge]
    bad = [i for i in all_imports()
           if package_of(i.target) == edge and package_of(i.importer) not in allowed]
    assert not bad, f"only {sorted(allowed)} may import dockyard.{edge}:\n{describe(bad)}"


@pytest.mark.parametrize("client", CLIENT_PACKAGES)
def test_client_packages_import_no_other_dockyard_package(client: str) -> None:
    bad = [i for i in all_imports()
           if package_of(i.importer) == client
           and package_of(i.target) is not None
           and package_of(i.target) not in (client, *SHARED_WITH_CLIENTS, *CLIENT_MAY_IMPORT[client])]
    assert not bad, f"dockyard.{client} must only talk to the API, not import daemon code:\n{describe(bad)}"


def test_compose_is_checked_and_imports_no_daemon_package() -> None:
    # the compose library exists and the scanner sees its imports: the rule above is not vacuous
    compose_imports = [i for i in all_imports() if package_of(i.importer) == "compose"]
    assert any(i.target.startswith("dockyard.compose.") for i in compose_imports)
    assert any(i.importer.startswith("dockyard.cli.") and package_of(i.target) == "compose" for i in all_imports())
    assert not [i for i in compose_imports if package_of(i.target) not in (None, "compose", *SHARED_WITH_CLIENTS)]


def test_modules_shared_with_clients_import_nothing_from_dockyard() -> None:
    bad = [i for i in all_imports()
           if package_of(i.importer) in SHARED_WITH_CLIENTS and package_of(i.target) is not None]
    assert not bad, f"modules the clients share must stay leaves:\n{describe(bad)}"


def layer_of(package: str) -> int:
    for index, (_name, members) in enumerate(LAYERS):
        if package in members:
            return index
    raise KeyError(package)


def test_every_package_has_a_layer() -> None:
    packages = {package_of(name) for name in all_modules()} - {""}
    placed = set().union(*(members for _name, members in LAYERS))
    assert packages <= placed, f"place these packages in LAYERS (and docs/architecture.md): {sorted(packages - placed)}"


def test_imports_flow_down_the_layers() -> None:
    bad = []
    for i in all_imports():
        src, dst = package_of(i.importer), package_of(i.target)
        if dst is None or not src or not dst or src == dst or (src, dst) in ALLOWED_EDGES:
            continue
        if layer_of(dst) <= layer_of(src):
            bad.append(i)
    assert not bad, ("an import goes up or across the layers of docs/architecture.md "
                     f"(add it to ALLOWED_EDGES only with a reason):\n{describe(bad)}")


def test_the_layer_check_catches_an_upward_import() -> None:
    # guards the rule above against passing vacuously
    assert layer_of("linux") > layer_of("runtime") > layer_of("images") > layer_of("containers") > layer_of("api")
    assert any(package_of(i.importer) == "runtime" and package_of(i.target) == "logging" for i in all_imports())


def test_registry_imports_no_daemon_package() -> None:
    bad = [i for i in all_imports()
           if package_of(i.importer) == "registry"
           and package_of(i.target) is not None and package_of(i.target) not in REGISTRY_MAY_IMPORT]
    assert not bad, f"the registry is its own process; it may import only {sorted(REGISTRY_MAY_IMPORT)}:\n{describe(bad)}"


def test_shared_leaves_import_no_other_dockyard_package() -> None:
    leaves = {"timefmt", "mediatypes", "httpserver"}
    bad = [i for i in all_imports()
           if package_of(i.importer) in leaves
           and package_of(i.target) not in (None, package_of(i.importer))]
    assert not bad, f"shared leaves must not import Dockyard:\n{describe(bad)}"


MOUNT_COMMANDS = {"mount", "umount", "losetup"}


def _mount_commands(tree: ast.AST) -> list[int]:
    """Lines of argv literals that run a mount program (["mount", ...], ("umount", ...))."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value in MOUNT_COMMANDS:
                lines.append(node.lineno)
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and node.args[0].value.split(" ")[0] in MOUNT_COMMANDS \
                and isinstance(node.func, ast.Attribute) and node.func.attr in ("run", "Popen", "call",
                                                                               "check_call", "check_output", "system"):
            lines.append(node.lineno)
    return lines


def test_no_mount_subprocess_outside_linux() -> None:
    bad = []
    for name, path in all_modules().items():
        if package_of(name) == "linux":
            continue
        bad += [f"  {path.relative_to(REPO)}:{line}" for line in _mount_commands(ast.parse(path.read_text()))]
    assert not bad, "mounts go through dockyard/linux/ (the recording fake must see them):\n" + "\n".join(bad)


def test_the_mount_command_scan_finds_one() -> None:
    tree = ast.parse('import subprocess\nsubprocess.run(["umount", p])\nos.system("mount -t tmpfs x y")\n')
    assert sorted(_mount_commands(tree)) == [2, 3]


def test_only_linux_package_uses_ctypes() -> None:
    bad = [i for i in all_imports()
           if (i.target == "ctypes" or i.target.startswith("ctypes.")) and package_of(i.importer) != "linux"]
    assert not bad, f"kernel calls (ctypes) belong in dockyard/linux/:\n{describe(bad)}"


def test_no_ctypes_by_dynamic_import_outside_linux() -> None:
    bad = []
    for name, path in all_modules().items():
        if package_of(name) == "linux":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                    and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__")
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).split(".")[0] == "ctypes"):
                bad.append(f"  {path.relative_to(REPO)}:{node.lineno}")
    assert not bad, "ctypes imported dynamically outside dockyard/linux/:\n" + "\n".join(bad)


# --- every module imports on its own --------------------------------------------------------

@dataclass
class ImportResult:
    returncode: int
    stderr: str


def _import_alone(module: str) -> ImportResult:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=60)
    return ImportResult(proc.returncode, proc.stderr)


@pytest.fixture(scope="module")
def import_results() -> dict[str, ImportResult]:
    modules = sorted(all_modules())
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        return dict(zip(modules, pool.map(_import_alone, modules)))


def _missing_third_party(stderr: str) -> str | None:
    """The name of a missing third-party package if that alone made the import fail."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    prefix = "ModuleNotFoundError: No module named "
    if last.startswith(prefix):
        missing = last[len(prefix):].strip("'\"")
        if missing.split(".")[0] not in ("dockyard",) and missing.split(".")[0] not in sys.stdlib_module_names:
            return missing
    return None


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module", sorted(all_modules()))
def test_module_imports_on_its_own(module: str, import_results: dict[str, ImportResult]) -> None:
    result = import_results[module]
    if result.returncode != 0:
        missing = _missing_third_party(result.stderr)
        if missing:
            pytest.skip(f"{module} needs the optional third-party package {missing!r}, not installed")
    assert result.returncode == 0, f"`python -c 'import {module}'` failed:\n{result.stderr[-3000:]}"
