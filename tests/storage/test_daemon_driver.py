"""daemon.json `storage-driver` selects the driver a daemon runs with; info reports the registered drivers."""
from __future__ import annotations

import os

import pytest

from dockyard.logging import drivers as log_drivers
from tests.support.daemon import TestDaemon, import_busybox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a private dockyardd")


def test_vfs_from_daemon_json_runs_containers_and_info_names_it() -> None:
    d = TestDaemon(extra_config={"storage-driver": "vfs"})
    try:
        d.start()
        import_busybox(d)
        run = d.docker("run", "--rm", "busybox", "sh", "-c", "echo hi > /f && cat /f")
        assert run.returncode == 0 and run.stdout.strip() == b"hi", run.stderr
        info = d.client().info()
        assert info["Driver"] == "vfs" and info["DriverStatus"] == []
        assert d.docker("image", "inspect", "-f", "{{.GraphDriver.Name}}", "busybox").stdout.strip() == b"vfs"
        assert (d.data_root / "vfs" / "dir").is_dir() and not (d.data_root / "overlay").exists()
        assert info["Plugins"]["Log"] == log_drivers.names() == ["json-file", "local", "none", "syslog", "gelf", "fluentd", "journald"]
        assert info["Plugins"]["Volume"] == ["local"]
        assert info["Plugins"]["Network"] == ["bridge", "host", "macvlan", "null"]
    finally:
        d.cleanup()
