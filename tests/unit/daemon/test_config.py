"""Daemon configuration: defaults, daemon.json, and flags that win over it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.daemon.config import DEFAULT_SOCKET, Config, parse_args
from dockyard.errors import InvalidParameter

DAEMON_JSON = {
    "hosts": ["unix:///tmp/from-json.sock"],
    "data-root": "/srv/json-data",
    "exec-root": "/srv/json-exec",
    "log-level": "debug",
    "default-runtime": "runc",
    "storage-driver": "vfs",
    "cgroup-parent": "json-parent",
}


def write(tmp_path: Path, content: object | str, name: str = "daemon.json") -> Path:
    p = tmp_path / name
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


def test_defaults_without_a_config_file() -> None:
    if Path("/etc/dockyard/daemon.json").exists():
        pytest.skip("this host has /etc/dockyard/daemon.json, which parse_args reads by default")
    cfg = parse_args([])
    assert cfg == Config()
    assert cfg.hosts == [DEFAULT_SOCKET]
    assert cfg.socket_paths == ["/run/dockyard/dockyard.sock"]
    assert cfg.data_root == Path("/var/lib/dockyard") and cfg.exec_root == Path("/run/dockyard")
    assert cfg.config_file is None and cfg.extra == {}


def test_daemon_json_is_applied(tmp_path: Path) -> None:
    path = write(tmp_path, DAEMON_JSON)
    cfg = parse_args(["--config-file", str(path)])
    assert cfg.hosts == ["unix:///tmp/from-json.sock"]
    assert cfg.data_root == Path("/srv/json-data") and isinstance(cfg.data_root, Path)
    assert cfg.exec_root == Path("/srv/json-exec") and isinstance(cfg.exec_root, Path)
    assert cfg.log_level == "debug"
    assert cfg.runtime == "runc"
    assert cfg.storage_driver == "vfs"
    assert cfg.cgroup_parent == "json-parent"
    assert cfg.config_file == path
    assert cfg.extra == {}


def test_flags_override_daemon_json(tmp_path: Path) -> None:
    path = write(tmp_path, DAEMON_JSON)
    cfg = parse_args(["--config-file", str(path), "-H", "unix:///tmp/a.sock", "--host", "unix:///tmp/b.sock",
                      "--data-root", "/flag/data", "--exec-root", "/flag/exec", "-l", "warn",
                      "--default-runtime", "crun"])
    assert cfg.hosts == ["unix:///tmp/a.sock", "unix:///tmp/b.sock"]
    assert cfg.socket_paths == ["/tmp/a.sock", "/tmp/b.sock"]
    assert cfg.data_root == Path("/flag/data") and cfg.exec_root == Path("/flag/exec")
    assert cfg.log_level == "warn" and cfg.runtime == "crun"
    # keys without a flag keep daemon.json's value
    assert cfg.storage_driver == "vfs" and cfg.cgroup_parent == "json-parent"


def test_unset_flags_do_not_reset_daemon_json(tmp_path: Path) -> None:
    path = write(tmp_path, {"data-root": "/srv/x"})
    cfg = parse_args(["--config-file", str(path), "--exec-root", "/e"])
    assert cfg.data_root == Path("/srv/x") and cfg.exec_root == Path("/e")
    assert cfg.hosts == [DEFAULT_SOCKET]


def test_unknown_keys_are_kept_in_extra(tmp_path: Path) -> None:
    path = write(tmp_path, {"log-level": "error", "live-restore": True,
                            "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]})
    cfg = parse_args(["--config-file", str(path)])
    assert cfg.log_level == "error"
    assert cfg.extra == {"live-restore": True,
                         "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]}


@pytest.mark.parametrize("content", ["{not json", "", '{"hosts": ["unix:///x"],}'])
def test_bad_json_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InvalidParameter, match="unable to configure the daemon with file"):
        parse_args(["--config-file", str(path)])


@pytest.mark.parametrize("content", [[1, 2], "a string", 3, None])
def test_json_that_is_not_an_object_is_an_error(tmp_path: Path, content: object) -> None:
    path = write(tmp_path, json.dumps(content))
    with pytest.raises(InvalidParameter, match="not a JSON object"):
        parse_args(["--config-file", str(path)])


def test_explicit_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="does not exist"):
        parse_args(["--config-file", str(tmp_path / "missing.json")])


def test_tcp_hosts_are_taken_and_unknown_schemes_refused(tmp_path: Path) -> None:
    from dockyard.daemon.listeners import parse_host

    cfg = parse_args(["--config-file", str(write(tmp_path, {})), "-H", "tcp://0.0.0.0:2375", "-H", "unix:///x"])
    assert cfg.hosts == ["tcp://0.0.0.0:2375", "unix:///x"]
    cfg = parse_args(["--config-file", str(write(tmp_path, {"hosts": ["fd://"]}))])
    with pytest.raises(InvalidParameter, match="Invalid bind address format"):
        parse_host(cfg.hosts[0], False)


def test_invalid_log_level_flag_exits(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--config-file", str(write(tmp_path, {})), "--log-level", "loud"])


def test_storage_driver_flag_overrides_daemon_json(tmp_path: Path) -> None:
    path = write(tmp_path, DAEMON_JSON)
    assert parse_args(["--config-file", str(path), "-s", "overlay2"]).storage_driver == "overlay2"
    assert parse_args(["--config-file", str(path), "--storage-driver", "vfs"]).storage_driver == "vfs"
    assert parse_args(["--config-file", str(write(tmp_path, {}))]).storage_driver == ""  # chosen at start
