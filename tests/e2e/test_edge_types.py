"""Malformed types at the API edge are 4xx with a message, never 500 (issue 14, defect 4)."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.rawhttp import call, message

pytestmark = pytest.mark.e2e


@pytest.fixture()
def ctr(daemon):
    name = f"dytest-edge-{uuid.uuid4().hex[:8]}"
    assert daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                         "ln -s /a /b; ln -s /b /a; mkdir /d; ln -s /d/self /d/self; sleep 300").returncode == 0
    yield name
    daemon.docker("rm", "-f", name)


def test_a_symlink_loop_in_the_archive_path_is_a_400(daemon, ctr):
    for method in ("HEAD", "GET", "PUT"):
        st, body, _ = call(daemon, method, f"/containers/{ctr}/archive?path=/a/x", b"")
        assert st == 400, (method, st, body)
        if method != "HEAD":
            assert "too many levels of symbolic links" in message(body)
    r = daemon.docker("cp", f"{ctr}:/d/self/x", "-")
    assert r.returncode != 0 and b"too many levels of symbolic links" in r.stderr, r.stderr


@pytest.mark.parametrize("action", ["connect", "disconnect"])
@pytest.mark.parametrize("bad", [123, ["x"], {"a": 1}, True])
def test_a_container_that_is_not_a_string_is_a_400(daemon, action, bad):
    st, body, _ = call(daemon, "POST", f"/networks/bridge/{action}", {"Container": bad})
    assert st == 400, body
    assert "cannot unmarshal" in message(body) and "Container of type string" in message(body)


def test_other_malformed_network_bodies_are_400s(daemon, ctr):
    cases = [("connect", {"Container": ctr, "EndpointConfig": "x"}),
             ("disconnect", {"Container": ctr, "Force": "yes"}),
             ("connect", ["not", "an", "object"]), ("disconnect", 7)]
    for action, body_ in cases:
        st, body, _ = call(daemon, "POST", f"/networks/bridge/{action}", json.dumps(body_),
                           {"Content-Type": "application/json"})
        assert st == 400, (action, body_, body)
        assert "cannot unmarshal" in message(body)


def test_malformed_volume_and_exec_bodies_are_400s(daemon, ctr):
    for body_ in ({"Name": 5}, {"Labels": ["a"]}, {"DriverOpts": "x"}, [1]):
        st, body, _ = call(daemon, "POST", "/volumes/create", json.dumps(body_),
                           {"Content-Type": "application/json"})
        assert st == 400 and "cannot unmarshal" in message(body), (body_, body)
    st, body, _ = call(daemon, "POST", f"/containers/{ctr}/exec", {"Cmd": ["true"]})
    assert st == 201, body
    exec_id = json.loads(body)["Id"]
    st, body, _ = call(daemon, "POST", f"/exec/{exec_id}/start", {"Detach": "yes"})
    assert st == 400 and "cannot unmarshal" in message(body), body


@pytest.mark.parametrize("action", ["stop", "restart"])
def test_t_null_on_stop_and_restart_is_ignored(daemon, action):
    name = f"dytest-tnull-{uuid.uuid4().hex[:8]}"
    assert daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                         "trap 'exit 0' TERM; sleep 300 & wait").returncode == 0
    try:
        st, body, _ = call(daemon, "POST", f"/containers/{name}/{action}?t=null", timeout=30)
        assert st == 204, body
        st, body, _ = call(daemon, "POST", f"/containers/{name}/{action}?t=soon")
        assert st == 400, body  # a value that is no number at all is still refused
    finally:
        daemon.docker("rm", "-f", name)


def test_malformed_network_create_and_exec_create_fields_are_400s(daemon, ctr):
    for body_ in ({"Name": "dytest-n", "Driver": [1]}, {"Name": "dytest-n", "Internal": "yes"},
                  {"Name": "dytest-n", "IPAM": {"Config": "x"}}, {"Name": "dytest-n", "IPAM": "x"}):
        st, body, _ = call(daemon, "POST", "/networks/create", body_)
        assert st == 400 and "cannot unmarshal" in message(body), (body_, body)
    for body_ in ({"Cmd": ["true"], "DetachKeys": 5}, {"Cmd": ["true"], "Tty": "yes"}):
        st, body, _ = call(daemon, "POST", f"/containers/{ctr}/exec", body_)
        assert st == 400 and "cannot unmarshal" in message(body), (body_, body)
