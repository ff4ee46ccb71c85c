"""Attached `up` (logs of every container until they exit, Ctrl-C stops them) and `up --wait`."""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, BinaryIO

from dockyard.compose import model as labels
from dockyard.compose.engine import Api, name_of
from dockyard.compose.errors import ComposeError
from dockyard.compose.logs import Printer, follow_all
from dockyard.compose.model import Project
from dockyard.compose.progress import Reporter
from dockyard.compose.up import stop_container, wait_condition


def _containers(api: Api, project: Project, names: list[str]) -> list[dict[str, Any]]:
    return [c for c in api.containers(project.name) if (c.get("Labels") or {}).get(labels.SERVICE) in names]


def wait_ready(api: Api, project: Project, names: list[str], report: Reporter, timeout: int | None) -> None:
    """--wait: every container running, and healthy where it has a healthcheck; else fail naming it."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for c in _containers(api, project, names):
        svc = project.services[c["Labels"][labels.SERVICE]]
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        hc = svc.get("healthcheck") or {}
        if hc and not hc.get("disable"):
            wait_condition(api, c, "service_healthy", c["Labels"][labels.SERVICE], report, left)
            continue
        state = (api.find(f"/containers/{c['Id']}/json") or {}).get("State") or {}
        if not state.get("Running"):
            raise ComposeError(f"container {name_of(c)} exited ({state.get('ExitCode')})")
        report.event("Container", name_of(c), "Healthy" if hc else "Running")


def _stop_all(api: Api, project: Project, containers: list[dict[str, Any]], timeout: int | None) -> None:
    """Stop every container at once, each with its service's stop_grace_period (or -t)."""
    threads = [threading.Thread(target=stop_container,
                                args=(api, c["Id"], project.services.get(c["Labels"][labels.SERVICE], {}), timeout))
               for c in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_attached(api: Api, project: Project, names: list[str], out: BinaryIO, *, colour: bool, abort: bool,
                 exit_code_from: str | None, timeout: int | None) -> int:
    """Print every container's output until all exit (or, with abort, until one does); return the exit code."""
    containers = _containers(api, project, names)
    printer = Printer(out, [name_of(c) for c in containers], colour)
    follow_all(api, containers, printer, follow=True)
    exits: dict[str, int] = {}
    first: list[dict[str, Any]] = []
    done = threading.Event()
    lock = threading.Lock()

    def waiter(c: dict[str, Any]) -> None:
        try:
            result = api.call("POST", f"/containers/{c['Id']}/wait")
        except ComposeError:
            result = {"StatusCode": -1}
        with lock:
            exits[c["Id"]] = int((result or {}).get("StatusCode", -1))
            first.append(c)
            sys.stderr.write(f"{name_of(c)} exited with code {exits[c['Id']]}\n")
            sys.stderr.flush()
            if abort or len(exits) == len(containers):
                done.set()

    for c in containers:
        threading.Thread(target=waiter, args=(c,), daemon=True).start()
    if not containers:
        done.set()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        _stop_all(api, project, containers, timeout)
        return 130
    if abort and len(exits) < len(containers):
        sys.stderr.write("Aborting on container exit...\n")
        _stop_all(api, project, containers, timeout)
    time.sleep(0.1)  # the log streams end with their containers: let them print their last lines
    if exit_code_from:
        for c in containers:
            if c["Labels"][labels.SERVICE] == exit_code_from:
                return exits.get(c["Id"], 0)
    if abort and first:
        return exits[first[0]["Id"]]
    return 0
