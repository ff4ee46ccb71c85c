"""The container routers only parse, call one service method and render: they never reach into a
service's private state, its store or the supervisor (issue: the lifecycle has one owner)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[3] / "dockyard" / "api"
ROUTERS = ["containers.py", "container_ops.py", "container_files.py", "exec.py"]
# what only the container services may touch
FORBIDDEN = {"store", "supervisor", "save", "events", "publish", "freeze", "thaw"}


@pytest.mark.parametrize("name", ROUTERS)
def test_router_keeps_out_of_service_state(name):
    tree = ast.parse((API / name).read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id != "self":
            if node.attr.startswith("_") and not node.attr.startswith("__") or node.attr in FORBIDDEN:
                bad.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert bad == []


@pytest.mark.parametrize("name", ROUTERS)
def test_router_declares_its_backend(name):
    """`routes()` takes typed backends (Protocols), not `Any`."""
    tree = ast.parse((API / name).read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "routes")
    untyped = [a.arg for a in fn.args.args if a.annotation is None or ast.unparse(a.annotation) == "Any"]
    assert untyped == []
