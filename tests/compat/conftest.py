"""Differential fixtures: one reference dockerd 20.10 and one dockyardd, the same busybox in both.

`pair.both(fn)` runs `fn(side)` against each daemon (dockerd first) and returns both outcomes;
`pair.same(call, fn, ...)` also compares them (differ.py) and fails on a difference the
allow-list does not name. Both daemons see the same names, so answers compare directly.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.compat import differ
from tests.support import rawhttp
from tests.support.daemon import TestDaemon, busybox_rootfs_tar
from tests.support.oracle import DockerdOracle


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/compat" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter):
    if differ.Counter.calls:
        terminalreporter.write_line(
            f"compat: {differ.Counter.calls} calls compared against dockerd 20.10, "
            f"{len(differ.ALLOWED)} allow-listed differences")
    for line in differ.Counter.collected:
        terminalreporter.write_line(line)


@dataclass
class Outcome:
    """What a call gave: a value, or an error's status and message."""
    value: Any = None
    status: int | None = None
    message: str | None = None

    def as_json(self) -> Any:
        if self.status is not None:
            return {"error": {"status": self.status, "message": self.message}}
        return self.value


class Side:
    """One daemon as the scenarios see it: docker-py low-level API, the docker CLI, raw HTTP."""

    def __init__(self, name: str, daemon: Any) -> None:
        self.name, self.daemon = name, daemon
        self.api = daemon.client().api
        self.socket = daemon.socket

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 60) -> dict:
        r = self.daemon.docker(*args, input=input, timeout=timeout)
        return {"rc": r.returncode, "out": r.stdout.decode(errors="replace"),
                "err": r.stderr.decode(errors="replace")}

    def raw(self, method: str, path: str, body: Any = None, headers: dict | None = None,
            timeout: float = 60) -> dict:
        status, data, _ = rawhttp.call(self, method, path, body, headers, timeout)
        try:
            parsed: Any = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return {"status": status, "body": parsed}


class Pair:
    def __init__(self, ref: Side, got: Side) -> None:
        self.ref, self.got = ref, got

    def both(self, fn: Callable[[Side], Any]) -> tuple[Outcome, Outcome]:
        return _run(fn, self.ref), _run(fn, self.got)

    def same(self, call: str, fn: Callable[[Side], Any], values: bool | list[str] = True,
             ignore: tuple[str, ...] = ()) -> tuple[Any, Any]:
        a, b = self.both(fn)
        differ.Counter.calls += 1
        diffs = differ.differences(call, a.as_json(), b.as_json(), values, ignore)
        if os.environ.get("DYT_COMPAT_COLLECT"):  # survey mode: list every difference, go on
            differ.Counter.collected += diffs
            return a.as_json(), b.as_json()
        assert not diffs, "dockyard differs from dockerd 20.10:\n" + "\n".join(diffs)
        return a.as_json(), b.as_json()

    def each(self, fn: Callable[[Side], Any]) -> None:
        """Set-up or clean-up on both daemons; errors are the scenario's failure."""
        fn(self.ref)
        fn(self.got)


def _run(fn: Callable[[Side], Any], side: Side) -> Outcome:
    import docker

    try:
        # through JSON: tuples become lists, bytes are refused (scenarios decode them)
        return Outcome(value=json.loads(json.dumps(fn(side))))
    except docker.errors.APIError as e:
        return Outcome(status=e.status_code, message=str(e.explanation))


@pytest.fixture(scope="session")
def pair():
    if os.geteuid() != 0:
        pytest.skip("needs root: both daemons mount overlayfs and create namespaces")
    if shutil.which("dockerd") is None:
        pytest.fail("tests/compat needs dockerd 20.10: run scripts/setup (Debian docker.io)")
    oracle, ours = DockerdOracle(), TestDaemon()
    try:
        oracle.start()
        ours.start()
        tar = busybox_rootfs_tar()
        for d in (oracle, ours):
            d.docker("import", "-", "busybox:latest", input=tar, check=True)
        yield Pair(Side("dockerd", oracle), Side("dockyard", ours))
    finally:
        ours.cleanup()
        oracle.cleanup()


@pytest.fixture()
def clean(pair):
    """Names of containers/networks/volumes/images a test makes, removed on both daemons."""
    made: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": [], "images": []}
    yield made
    for side in (pair.ref, pair.got):
        for c in made["containers"]:
            _quiet(side.api.remove_container, c, force=True, v=True)
        for n in made["networks"]:
            _quiet(side.api.remove_network, n)
        for v in made["volumes"]:
            _quiet(side.api.remove_volume, v, force=True)
        for i in made["images"]:
            _quiet(side.api.remove_image, i, force=True)


def _quiet(fn: Callable, *args: Any, **kw: Any) -> None:
    import docker

    try:
        fn(*args, **kw)
    except docker.errors.APIError:
        pass

