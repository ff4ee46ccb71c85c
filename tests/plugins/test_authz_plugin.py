"""Authorization plugins end to end: a real plugin process that denies DELETE, consulted around
every request of the docker CLI and docker-py; a dead plugin fails requests closed."""
from __future__ import annotations

import base64
import json
from typing import Iterator

import docker
import pytest

from tests.plugins.conftest import PluginDirs
from tests.plugins.servers import PluginProcess
from tests.support.daemon import TestDaemon, private_daemon


@pytest.fixture()
def authz_plugin(plugin_dirs: PluginDirs) -> Iterator[PluginProcess]:
    with PluginProcess("authz_deny_delete", str(plugin_dirs.sockets / "denydel.sock"),
                       calls_log=str(plugin_dirs.base / "authz-calls.log")) as p:
        yield p


@pytest.fixture()
def authz_daemon(plugin_dirs: PluginDirs, authz_plugin: PluginProcess) -> Iterator[TestDaemon]:
    with private_daemon(extra_config=plugin_dirs.config(**{"authorization-plugins": ["denydel"]})) as d:
        yield d


def calls(dirs: PluginDirs) -> list[dict]:
    return [json.loads(line) for line in (dirs.base / "authz-calls.log").read_text().splitlines()]


def test_delete_is_denied_with_dockers_error_and_the_rest_allowed(authz_daemon: TestDaemon) -> None:
    assert authz_daemon.docker("ps").returncode == 0
    assert authz_daemon.docker("volume", "create", "keep").returncode == 0
    r = authz_daemon.docker("volume", "rm", "keep")
    assert r.returncode != 0
    assert "Error response from daemon: authorization denied by plugin denydel: DELETE is not allowed here" \
        in r.stderr.decode()
    assert b"keep" in authz_daemon.docker("volume", "ls", "-q").stdout  # the handler never ran
    with pytest.raises(docker.errors.APIError) as e:
        authz_daemon.client().volumes.get("keep").remove()
    assert e.value.status_code == 403
    info = json.loads(authz_daemon.docker("info", "--format", "{{json .Plugins.Authorization}}").stdout)
    assert info == ["denydel"]


def test_the_plugin_sees_the_request_and_the_response_as_docker_sends_them(
        authz_daemon: TestDaemon, plugin_dirs: PluginDirs) -> None:
    authz_daemon.client().volumes.create(name="seen", labels={"k": "v"})
    req = [c for c in calls(plugin_dirs) if c["method"] == "AuthZPlugin.AuthZReq"
           and c["payload"]["RequestURI"].endswith("/volumes/create")][-1]["payload"]
    assert req["RequestMethod"] == "POST" and req["User"] == ""
    assert req["RequestHeaders"]["Content-Type"] == "application/json"
    assert json.loads(base64.b64decode(req["RequestBody"]))["Name"] == "seen"
    res = [c for c in calls(plugin_dirs) if c["method"] == "AuthZPlugin.AuthZRes"
           and c["payload"]["RequestURI"].endswith("/volumes/create")][-1]["payload"]
    assert res["ResponseStatusCode"] == 201
    assert json.loads(base64.b64decode(res["ResponseBody"]))["Labels"] == {"k": "v"}
    # a response the plugin refuses after the handler ran
    r = authz_daemon.docker("volume", "inspect", "secret")
    assert "authorization denied by plugin denydel: that volume is secret" in r.stderr.decode()


def test_a_dead_plugin_fails_closed_and_the_daemon_keeps_answering(
        authz_daemon: TestDaemon, authz_plugin: PluginProcess) -> None:
    authz_plugin.stop()
    r = authz_daemon.docker("ps")
    assert r.returncode != 0 and "plugin denydel failed with error:" in r.stderr.decode()
    assert "cannot connect to plugin" in r.stderr.decode()
    assert authz_daemon.proc is not None and authz_daemon.proc.poll() is None
    authz_plugin.start()
    assert authz_daemon.docker("ps").returncode == 0
