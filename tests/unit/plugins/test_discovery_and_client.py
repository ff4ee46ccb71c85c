"""Discovery of legacy plugins (.sock, .spec, .json), the daemon.json keys and the flag, and the
client's errors against a real plugin process (no root needed)."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.daemon.config import parse_args
from dockyard.plugins.client import PluginClient, PluginError, PluginUnreachable, Timing
from dockyard.plugins.config import from_daemon_json
from dockyard.plugins.discovery import Dirs, Discovery
from tests.plugins.servers import PluginProcess


def test_sockets_come_first_then_spec_and_json_files(tmp_path: Path) -> None:
    run, etc = tmp_path / "run", tmp_path / "etc"
    (run / "nested").mkdir(parents=True)
    etc.mkdir()
    for path in (run / "flat.sock", run / "nested" / "nested.sock"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    (etc / "byspec.spec").write_text("tcp://127.0.0.1:9999\n")
    (etc / "byjson.json").write_text(json.dumps({"Name": "byjson", "Addr": "unix:///x/y.sock"}))
    (etc / "bad.spec").write_text("ftp://nope\n")
    d = Discovery(Dirs(sockets=(str(run),), specs=(str(etc),)))
    assert d.find("flat") == f"unix://{run}/flat.sock"
    assert d.find("nested") == f"unix://{run}/nested/nested.sock"
    assert d.find("byspec") == "tcp://127.0.0.1:9999"
    assert d.find("byjson") == "unix:///x/y.sock"
    assert d.find("missing") is None and d.find("../etc/byspec") is None
    with pytest.raises(errors.InvalidParameter, match="Unknown protocol"):
        d.find("bad")
    assert d.names() == ["bad", "byjson", "byspec", "flat", "nested"]


def test_daemon_json_keys_and_the_flag() -> None:
    cfg = from_daemon_json({"plugin-socket-dirs": ["/a"], "plugin-timeout": 2,
                            "authorization-plugins": ["one"]}, ["two", "one"])
    assert cfg.dirs.sockets == ("/a",) and cfg.timing.call_timeout == 2.0
    assert cfg.authz == ("one", "two")
    with pytest.raises(errors.InvalidParameter, match="plugin-timeout"):
        from_daemon_json({"plugin-timeout": "soon"})
    assert parse_args(["--authorization-plugin", "a", "--authorization-plugin", "b"]).authorization_plugins \
        == ["a", "b"]


def test_client_errors_are_clear(tmp_path: Path) -> None:
    sock = tmp_path / "v.sock"
    with PluginProcess("volume_dir", str(sock), "--root", str(tmp_path / "root")):
        client = PluginClient(f"unix://{sock}", Timing(call_timeout=1, retry_window=1))
        assert client.call("Plugin.Activate") == {"Implements": ["VolumeDriver"]}
        with pytest.raises(PluginError, match="VolumeDriver.Path: no such volume: x"):
            client.call("VolumeDriver.Path", {"Name": "x"})
        with pytest.raises(PluginError, match="404 page not found"):
            client.call("NoSuch.Method")
        with pytest.raises(PluginError, match="did not answer within 1s"):
            client.call("VolumeDriver.Create", {"Name": "h", "Opts": {"fault": "hang"}})
        with pytest.raises(PluginError, match="not JSON"):
            client.call("VolumeDriver.Create", {"Name": "g", "Opts": {"fault": "garbage"}})
    slept: list[float] = []
    gone = PluginClient(f"unix://{sock}", Timing(call_timeout=1, retry_window=8), sleep=slept.append)
    with pytest.raises(PluginUnreachable, match="cannot connect"):
        gone.call("Plugin.Activate")
    assert slept == [1.0, 2.0, 4.0]  # Docker's back-off: 1 s, 2 s, 4 s; 8 s more would pass the window
