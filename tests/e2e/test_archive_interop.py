"""save/load against an independent implementation: skopeo reads what we save, we load what it writes."""
from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture()
def skopeo():
    path = shutil.which("skopeo")
    if path is None:
        pytest.skip("needs skopeo (Debian package skopeo), an independent reader/writer of image archives")
    return path


def test_skopeo_reads_our_save_and_we_load_its_archive(daemon, skopeo, tmp_path):
    ours = tmp_path / "ours.tar"
    assert daemon.docker("save", "-o", str(ours), "busybox").returncode == 0
    layout = f"oci:{tmp_path / 'layout'}:bb"
    subprocess.run([skopeo, "copy", "-q", f"docker-archive:{ours}", layout], check=True)
    inspected = subprocess.run([skopeo, "inspect", "--config", layout], check=True,
                               capture_output=True, text=True).stdout
    ours_config = daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", "busybox").stdout.decode()
    assert ours_config.strip().strip("[]").strip('"') in inspected  # same diffID survives the trip

    name = f"skopeo/bb-{uuid.uuid4().hex[:6]}:1"
    theirs = tmp_path / "theirs.tar"
    subprocess.run([skopeo, "copy", "-q", layout, f"docker-archive:{theirs}:{name}"], check=True)
    try:
        loaded = daemon.docker("load", "-i", str(theirs))
        assert loaded.returncode == 0 and f"Loaded image: {name}" in loaded.stdout.decode()
        run = daemon.docker("run", "--rm", name, "echo", "from-skopeo")
        assert (run.returncode, run.stdout) == (0, b"from-skopeo\n")
    finally:
        daemon.docker("rmi", name)
