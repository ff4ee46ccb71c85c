"""Differential: the same project with `dockyard compose` against dockyardd and against a real
dockerd (Debian's docker.io on scratch paths); the containers, names, labels, networks, volumes
and ps output must agree. The dockerd runs with --iptables=false --ip-forward=false and no
default bridge, so it leaves the host's FORWARD policy alone; it is ended by its own pid."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.support.compose import Compose, ScratchDockerd, free_port, project_dir


@pytest.fixture(scope="module")
def dockerd():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if shutil.which("dockerd") is None:
        pytest.fail("needs dockerd (Debian docker.io, installed by scripts/setup)")
    d = ScratchDockerd()
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def _observe(c: Compose, inspect) -> dict:
    """What a project made, in terms that do not depend on the engine (no IDs, times, addresses)."""
    name = c.directory.name
    rows = sorted(c.ps_json(), key=lambda r: r["Name"])
    ps = [{k: r[k] for k in ("Name", "Service", "State", "Health", "Project", "Image", "Command")}
          | {"Publishers": sorted((p["TargetPort"], p["PublishedPort"], p["Protocol"]) for p in r["Publishers"])}
          for r in rows]
    containers = {}
    for r in rows:
        info = json.loads(inspect("inspect", r["Name"]).stdout)[0]
        containers[r["Name"]] = {
            "labels": {k: v for k, v in info["Config"]["Labels"].items() if k.startswith("com.docker.compose.")},
            "networks": sorted(info["NetworkSettings"]["Networks"]),
            "aliases": sorted(a for n in info["NetworkSettings"]["Networks"].values() for a in (n["Aliases"] or [])
                              if len(a) != 12),  # dockerd adds the short container ID
            "mounts": sorted((m["Type"], m.get("Name", ""), m["Destination"]) for m in info["Mounts"]),
            "restart": info["HostConfig"]["RestartPolicy"]["Name"],
            "env": sorted(e for e in info["Config"]["Env"] or [] if e.startswith("GREETING")),
        }
    networks = {n: {k: v for k, v in json.loads(inspect("network", "inspect", n).stdout)[0]["Labels"].items()}
                for n in inspect("network", "ls", "--format", "{{.Name}}", "--filter", f"name={name}").stdout.decode().split()}
    volumes = {v: json.loads(inspect("volume", "inspect", v).stdout)[0]["Labels"]
               for v in inspect("volume", "ls", "--format", "{{.Name}}", "--filter", f"name={name}").stdout.decode().split()}
    return {"ps": ps, "containers": containers, "networks": networks, "volumes": volumes,
            "services": c.ok("ps", "--services").split(), "web": c.ok("exec", "-T", "client", "wget", "-qO-", "http://web/")}


def test_same_project_same_result_on_dockerd_and_dockyardd(daemon, dockerd, tmp_path):
    d = project_dir(tmp_path)
    port = str(free_port())
    seen = {}
    for side, host, inspect in (("dockerd", dockerd.host, dockerd.docker), ("dockyard", daemon.host, daemon.docker)):
        c = Compose(host, d, {"WEB_PORT": port})
        try:
            c.ok("up", "-d", "--wait")
            seen[side] = _observe(c, inspect)
            # no-change up touches nothing, on either engine
            ids = {r["ID"] for r in c.ps_json()}
            c.ok("up", "-d")
            assert {r["ID"] for r in c.ps_json()} == ids, side
        finally:
            r = c("down", "-v", "-t", "1")
        assert r.returncode == 0, r.stderr.decode()
        assert inspect("ps", "-aq", "--filter", f"label=com.docker.compose.project={d.name}").stdout == b""
    assert seen["dockerd"]["web"] == "hello\n"
    assert seen["dockyard"] == seen["dockerd"]
