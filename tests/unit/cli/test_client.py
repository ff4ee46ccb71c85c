"""The HTTP client's pure parts: query strings, errors, JSON streams, references."""
import io
import json

import pytest

from dockyard.cli import references
from dockyard.cli.client import (APIError, TLSOptions, CLIError, Client, encode_params, error_message, filters_param,
                                 iter_json_stream, resolve_host)


def test_encode_params():
    assert encode_params({"a": True, "b": None, "c": 3, "d": ["x", "y"]}) == "a=1&c=3&d=x&d=y"
    assert encode_params([("names", "a b"), ("names", "c")]) == "names=a+b&names=c"


def test_error_message():
    assert error_message(404, b'{"message": "No such container: x"}') == "No such container: x"
    assert error_message(500, b"plain text\n") == "plain text"
    assert error_message(502, b"") == "Bad Gateway"
    assert str(APIError(404, "No such image: x")) == "Error response from daemon: No such image: x"


def test_iter_json_stream_handles_back_to_back_and_split_objects():
    data = b'{"status":"a"}{"status":"b"}\n{"stream":"Loaded image: x\\n"}\r\n{"status":"sha256:1"}'

    class Chunked(io.BytesIO):
        def read1(self, n=-1):
            return super().read1(3)

    assert [m.get("status") or m.get("stream") for m in iter_json_stream(Chunked(data))] == \
        ["a", "b", "Loaded image: x\n", "sha256:1"]


def test_filters_param():
    assert json.loads(filters_param(["status=exited", "Status=running", "label=a=b"])) == \
        {"status": ["exited", "running"], "label": ["a=b"]}
    assert filters_param([]) is None
    with pytest.raises(CLIError):
        filters_param(["novalue"])


def test_hosts(monkeypatch):
    monkeypatch.delenv("DOCKYARD_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert resolve_host(None) == "unix:///run/dockyard/dockyard.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///docker.sock")  # as the docker CLI reads it
    assert resolve_host(None) == "unix:///docker.sock"
    monkeypatch.setenv("DOCKYARD_HOST", "unix:///tmp/x.sock")
    assert Client().address == "/tmp/x.sock"
    assert Client("tcp://127.0.0.1:2375").address == ("127.0.0.1", 2375)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    assert Client("tcp://127.0.0.1").address == ("127.0.0.1", 2375)
    assert Client("tcp://127.0.0.1", tls=TLSOptions(tls=True)).address == ("127.0.0.1", 2376)
    assert Client("unix:///a.sock").url("/containers/json", {"all": 1}) == "/v1.41/containers/json?all=1"
    with pytest.raises(CLIError):
        Client("ssh://host")


def test_references():
    assert references.normalize_name("busybox") == "docker.io/library/busybox"
    assert references.normalize_name("me/app") == "docker.io/me/app"
    assert references.normalize_name("localhost:5000/app") == "localhost:5000/app"
    assert references.tagged("busybox") == ("docker.io/library/busybox", "latest")
    assert references.tagged("localhost:5000/a/b:1.0") == ("localhost:5000/a/b", "1.0")
    assert references.familiar_tagged("busybox") == "busybox:latest"
    assert references.familiar_tagged("docker.io/library/busybox:1") == "busybox:1"
    with pytest.raises(CLIError, match="invalid reference format"):
        references.validate("Busybox")
    with pytest.raises(CLIError, match="invalid reference format"):
        references.validate("bad name")
