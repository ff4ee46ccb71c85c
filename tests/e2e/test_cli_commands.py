"""The `dockyard` CLI against a live daemon; output formats checked against the real docker CLI."""
from __future__ import annotations

import re
import shutil
import uuid

import pytest

pytestmark = pytest.mark.e2e


def name() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def out(proc) -> str:
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_version_has_client_and_server(daemon):
    text = out(daemon.dockyard("version"))
    assert text.startswith("Client: Dockyard\n Version:")
    assert "\nServer:" in text and "API version:       1.41" in text


def test_run_prints_output_and_exit_code(daemon):
    p = daemon.dockyard("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, b"out\n", b"err\n")


def test_run_stdin_is_forwarded_and_closed(daemon):
    p = daemon.dockyard("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done", input=b"hello\n")
    assert (p.returncode, p.stdout) == (0, b"hello\ndone\n")


def test_run_missing_executable_exits_127(daemon):
    p = daemon.dockyard("run", "--rm", "busybox", "no-such-binary")
    assert p.returncode == 127
    assert p.stderr.decode().startswith("Error response from daemon: ")
    assert b"Traceback" not in p.stderr


def test_run_missing_image_tries_to_pull(daemon):
    p = daemon.dockyard("run", "--rm", "no-such-image-xyz")
    assert p.returncode == 125
    assert "Unable to find image 'no-such-image-xyz:latest' locally" in p.stderr.decode()


def test_run_detached_then_lifecycle(daemon):
    n = name()
    cid = out(daemon.dockyard("run", "-d", "--name", n, "busybox", "sh", "-c", "echo hi; sleep 60")).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert out(daemon.dockyard("ps", "-q", "--filter", f"name={n}")).strip() == cid[:12]
    assert out(daemon.dockyard("inspect", "-f", "{{.State.Running}} {{.Name}}", n)) == f"true /{n}\n"
    assert out(daemon.dockyard("kill", n)) == f"{n}\n"
    assert out(daemon.dockyard("wait", n)) == "137\n"
    assert out(daemon.dockyard("logs", n)) == "hi\n"
    assert out(daemon.dockyard("rm", n)) == f"{n}\n"
    p = daemon.dockyard("rm", n)
    assert p.returncode == 1 and p.stderr.decode() == f"Error response from daemon: No such container: {n}\n"


def test_logs_demultiplexes_and_timestamps(daemon):
    n = name()
    assert daemon.dockyard("run", "--name", n, "busybox", "sh", "-c", "echo o; echo e >&2").returncode == 0
    p = daemon.dockyard("logs", n)
    assert (p.stdout, p.stderr) == (b"o\n", b"e\n")
    stamped = out(daemon.dockyard("logs", "-t", n))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z o\n", stamped)
    daemon.dockyard("rm", "-f", n)


def test_import_save_load_roundtrip(daemon, tmp_path):
    from tests.support.daemon import busybox_rootfs_tar

    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(busybox_rootfs_tar())
    image_id = out(daemon.dockyard("import", "-c", "ENV FOO=bar", "-m", "msg", str(tar), "cli-import:1")).strip()
    assert image_id.startswith("sha256:")
    assert out(daemon.dockyard("inspect", "-f", "{{.Config.Env}}", "cli-import:1")) == "[FOO=bar]\n"
    saved = tmp_path / "saved.tar"
    out(daemon.dockyard("save", "-o", str(saved), "cli-import:1"))
    assert "Untagged: cli-import:1" in out(daemon.dockyard("rmi", "cli-import:1"))
    assert out(daemon.dockyard("load", "-i", str(saved))) == "Loaded image: cli-import:1\n"
    daemon.dockyard("rmi", "cli-import:1")


def test_errors_are_one_line(daemon):
    p = daemon.dockyard("inspect", "no-such-thing")
    assert p.returncode == 1 and p.stdout == b"[]\n" and p.stderr == b"Error: No such object: no-such-thing\n"
    p = daemon.dockyard("ps", "--no-such-flag")
    assert p.returncode == 125 and b"no-such-flag" in p.stderr


def _untimed(data: bytes) -> str:
    """Relative times may tick between the two runs; so may the column widths they set."""
    text = re.sub(r"(Less than a second|About a minute|\d+ seconds?|\d+ minutes) ago", "T ago", data.decode())
    return re.sub(r" {2,}", "  ", text)


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
@pytest.mark.parametrize("args", [
    ("ps", "-a"), ("ps", "-a", "--no-trunc"), ("ps", "-aq"), ("ps", "-a", "-s"),
    ("ps", "-a", "--format", "{{json .}}"), ("ps", "-a", "--format", "table {{.ID}}\t{{.Names}}\t{{.State}}"),
    ("images",), ("images", "--digests"), ("images", "-q"), ("images", "--format", "{{json .}}"),
    ("history", "busybox"), ("history", "--no-trunc", "busybox"),
    ("inspect", "busybox"), ("inspect", "--format", "{{json .RepoTags}} {{.Os}}", "busybox"),
    ("image", "inspect", "no-such-image"), ("rm", "no-such-container"),
])
def test_output_matches_docker_cli(daemon, args):
    n = name()
    daemon.dockyard("create", "--name", n, "-l", "a=b", "busybox", "echo", "some long command line here")
    try:
        ours, theirs = daemon.dockyard(*args), daemon.docker(*args)
        assert ours.returncode == theirs.returncode
        assert _untimed(ours.stdout) == _untimed(theirs.stdout)
        assert ours.stderr.decode() == theirs.stderr.decode()
    finally:
        daemon.dockyard("rm", "-f", n)
