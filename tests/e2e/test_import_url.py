"""`docker import URL`: dockyardd fetches the tar from an http server on loopback."""
from __future__ import annotations

import http.server
import threading
from typing import Iterator

import pytest

from tests.support.daemon import busybox_rootfs_tar


@pytest.fixture(scope="module")
def tar_server() -> Iterator[str]:
    body = busybox_rootfs_tar()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path != "/rootfs.tar":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_docker_import_from_a_url_runs(daemon, docker_cli, tar_server) -> None:
    out = docker_cli("import", "-c", "CMD [\"echo\", \"from a url\"]", f"http://{tar_server}/rootfs.tar", "fromurl:1")
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().strip().startswith("sha256:")
    try:
        run = docker_cli("run", "--rm", "fromurl:1")
        assert run.returncode == 0 and run.stdout == b"from a url\n", run.stderr.decode()
    finally:
        docker_cli("rmi", "fromurl:1")


def test_import_source_without_scheme_is_http(daemon, tar_server) -> None:
    api = daemon.client().api
    out = api.import_image_from_url(f"{tar_server}/rootfs.tar", repository="fromurl", tag="2")
    assert "sha256:" in out
    api.remove_image("fromurl:2")


def test_import_url_errors(daemon, docker_cli, tar_server) -> None:
    missing = docker_cli("import", f"http://{tar_server}/nope.tar", "fromurl:3")
    assert missing.returncode != 0 and b"Got HTTP status code >= 400: 404" in missing.stderr
    refused = docker_cli("import", "http://127.0.0.1:9/x.tar", "fromurl:3")
    assert refused.returncode != 0 and b"connection refused" in refused.stderr
    import docker.errors  # the CLI takes an ftp:// source for a file name; the API sees it
    with pytest.raises(docker.errors.APIError) as e:
        daemon.client().api.import_image_from_url("ftp://127.0.0.1/x.tar", repository="fromurl", tag="3")
    assert e.value.status_code == 400 and "only http and https URLs" in str(e.value)
    assert docker_cli("image", "inspect", "fromurl:3").returncode != 0  # nothing half-made
