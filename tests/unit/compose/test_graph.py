"""Dependency order: start order, reverse order for stop, dependents, parallel tasks with failures."""
from __future__ import annotations

import threading

import pytest

from dockyard.compose.graph import run_in_order
from dockyard.compose.model import Project


def _project() -> Project:
    deps = {"db": [], "cache": [], "api": ["db", "cache"], "web": ["api"], "tool": []}
    return Project(name="p", working_dir="/", config_files=[],
                   services={n: {"depends_on": {d: {"condition": "service_started"} for d in ds}}
                             for n, ds in deps.items()})


def test_order_and_dependents() -> None:
    p = _project()
    order = p.order()
    assert order.index("db") < order.index("api") < order.index("web")
    assert order.index("cache") < order.index("api")
    assert p.order(["web"]) == ["cache", "db", "api", "web"]
    assert p.dependents("db") == ["api", "web"]


@pytest.mark.parametrize("reverse", [False, True])
def test_run_in_order_respects_dependencies(reverse: bool) -> None:
    p = _project()
    done: list[str] = []
    lock = threading.Lock()

    def task(name: str) -> None:
        with lock:
            done.append(name)

    run_in_order(p, list(p.services), task, reverse=reverse)
    assert sorted(done) == sorted(p.services)
    before = (lambda a, b: done.index(a) < done.index(b)) if not reverse else (lambda a, b: done.index(a) > done.index(b))
    assert before("db", "api") and before("cache", "api") and before("api", "web")


def test_a_failure_stops_what_depends_on_it() -> None:
    p = _project()
    ran: list[str] = []

    def task(name: str) -> None:
        ran.append(name)
        if name == "db":
            raise RuntimeError("db failed")

    with pytest.raises(RuntimeError, match="db failed"):
        run_in_order(p, list(p.services), task)
    assert "api" not in ran and "web" not in ran and "tool" in ran
