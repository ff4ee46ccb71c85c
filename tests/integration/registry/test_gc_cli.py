"""`dockyard registry gc` on a registry a running server filled; and the `dockyard registry` hook."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from .conftest import REPO, Layout, RegistryProcess, skopeo


def test_gc_command_sweeps_what_no_manifest_references(registry: RegistryProcess, layout: Layout) -> None:
    keep = layout.image({"keep": b"kept"})
    drop = layout.image({"drop": b"dropped"})
    layout.tag(keep, "keep")
    layout.tag(drop, "drop")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:keep", f"docker://{registry.host}/gc:keep")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:drop", f"docker://{registry.host}/gc:drop")
    r = requests.delete(f"{registry.url}/v2/gc/manifests/{drop['digest']}", timeout=30)
    assert r.status_code == 202
    # with the default grace period, the fresh blobs stay
    out = subprocess.run([sys.executable, "-m", "dockyard.cli.main", "registry", "gc", "--root", str(registry.root)],
                         capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "0 blobs deleted" in out.stdout
    past = time.time() - 7200
    for path in (registry.root / "blobs").rglob("*"):
        os.utime(path, (past, past))
    out = subprocess.run([sys.executable, "-m", "dockyard.registry.cli", "gc", "--root", str(registry.root)],
                         capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"blob deleted: {drop['digest']}" in out.stdout
    assert "3 blobs deleted" in out.stdout
    # the server keeps serving what is left
    out_dir = layout.path.parent / "after-gc"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/gc:keep", f"oci:{out_dir}:k")
    r = requests.head(f"{registry.url}/v2/gc/manifests/drop", timeout=30)
    assert r.status_code == 404


def test_dockyard_cli_runs_the_registry_command() -> None:
    out = subprocess.run([sys.executable, "-m", "dockyard.cli.main", "registry", "--help"], capture_output=True,
                         text=True, cwd=str(REPO), timeout=60)
    assert out.returncode == 0 and "serve" in out.stdout and "gc" in out.stdout
