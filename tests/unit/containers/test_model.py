"""The container record's API rendering."""
from __future__ import annotations

from dockyard.containers.model import Container


def _container(path: str, args: list[str]) -> Container:
    return Container(id="c" * 64, name="n", image="busybox", image_id="sha256:" + "0" * 64,
                     created="2020-01-01T00:00:00Z", path=path, args=args, config={}, host_config={})


def test_command_quotes_arguments_with_spaces_like_docker() -> None:
    # Docker 20.10's list: each argument holding a space in single quotes, the others as they are
    assert _container("sh", ["-c", "echo a; sleep 1"]).command_line() == "sh -c 'echo a; sleep 1'"
    assert _container("httpd", ["-f", "-p", "80"]).command_line() == "httpd -f -p 80"
    assert _container("true", []).command_line() == "true"
