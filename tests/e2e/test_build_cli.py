"""`dockyard build`: contexts from a directory (.dockerignore applied client-side), a tar file and
stdin; its flags; plain lines without a terminal and rich's live step view on one."""
from __future__ import annotations

import io
import sys
import tarfile
import uuid
from pathlib import Path

import pexpect
import pytest

from tests.support.daemon import REPO


@pytest.fixture()
def made(daemon):
    images: list[str] = []
    before = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split())
    yield images
    for i in reversed(images):
        daemon.docker("rmi", "-f", i)
    for cid in set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) - before:
        daemon.docker("rm", "-f", cid)


def _ctx(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nARG WHO=nobody\nCOPY . /c/\nRUN echo \"hi $WHO\" > /who && grep -q h1 /etc/hosts\n"
        "CMD [\"cat\", \"/who\"]\n")
    (tmp_path / ".dockerignore").write_text("*.tmp\n")
    (tmp_path / "keep").write_text("k")
    (tmp_path / "drop.tmp").write_text("d")
    return tmp_path


def test_directory_context_and_flags(daemon, made, tmp_path):
    tag = f"dytest-dybuild-{uuid.uuid4().hex[:8]}"
    made.append(tag)
    ctx = _ctx(tmp_path)
    iid = tmp_path.parent / f"{tag}.iid"
    r = daemon.dockyard("build", "-t", tag, "--build-arg", "WHO=cli", "--label", "a=b", "--add-host",
                        "h1:10.0.0.1", "--network", "bridge", "--iidfile", str(iid), str(ctx), timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "Step 1/6 : FROM busybox" in out and "Successfully tagged" in out  # plain lines off a TTY
    image = daemon.client().images.get(tag)
    assert iid.read_text() == image.id and image.labels == {"a": "b"}
    assert daemon.docker("run", "--rm", tag).stdout == b"hi cli\n"
    files = daemon.docker("run", "--rm", tag, "ls", "-a", "/c").stdout.split()
    assert b"keep" in files and b"drop.tmp" not in files and b".dockerignore" in files
    r = daemon.dockyard("build", "-q", "--build-arg", "WHO=cli", "--add-host", "h1:10.0.0.1", str(ctx))
    assert r.returncode == 0 and r.stdout.decode().strip().startswith("sha256:")
    r = daemon.dockyard("build", "--no-cache", "--target", "nope", str(ctx))
    assert r.returncode == 1 and b"failed to reach build target nope in Dockerfile" in r.stderr


def test_tar_file_and_stdin_contexts(daemon, made, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"FROM busybox\nCOPY f /f\n"
        for name, content in (("Dockerfile", data), ("f", b"from tar\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(content)
            tf.addfile(ti, io.BytesIO(content))
    (tmp_path / "ctx.tar").write_bytes(buf.getvalue())
    r = daemon.dockyard("build", "-q", str(tmp_path / "ctx.tar"))
    assert r.returncode == 0, r.stderr
    made.append(r.stdout.decode().strip())
    r2 = daemon.dockyard("build", "-q", "-", input=buf.getvalue())
    assert r2.stdout == r.stdout  # the same context: the same image, from the cache
    r = daemon.dockyard("build", "-", input=b"FROM busybox\nRUN exit 4\n")
    assert r.returncode == 4 and b"returned a non-zero code: 4" in r.stderr


def test_live_view_on_a_terminal(daemon, made, tmp_path):
    ctx = _ctx(tmp_path)
    child = pexpect.spawn(sys.executable, ["-m", "dockyard.cli.main", "build", "--add-host", "h1:1.2.3.4",
                                           str(ctx)], env=daemon.env, cwd=str(REPO), timeout=60,
                          dimensions=(30, 120))
    child.expect(pexpect.EOF)
    child.close()
    text = child.before.decode()
    assert child.exitstatus == 0, text
    assert "DONE" in text and "Step 3/5 : COPY . /c/" in text and "Successfully built" in text
    made.append(text.split("Successfully built ")[1].split()[0])
    child = pexpect.spawn(sys.executable, ["-m", "dockyard.cli.main", "build", "--add-host", "h1:1.2.3.4",
                                           str(ctx)], env=daemon.env, cwd=str(REPO), timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    assert "CACHED" in child.before.decode() and "(4 cached" in child.before.decode()
