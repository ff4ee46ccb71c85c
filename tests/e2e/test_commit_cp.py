"""commit and the archive API (docker cp both ways) through the docker CLI, docker-py and dockyard,
and the archive API's path safety: nothing outside the container's rootfs is read or written."""
from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.support.rawhttp import call, message


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def made(daemon):
    """Names of containers and images a test creates; all removed afterwards."""
    objs: dict[str, list[str]] = {"containers": [], "images": []}
    yield objs
    for c in objs["containers"]:
        daemon.docker("rm", "-f", c)
    for i in objs["images"]:
        daemon.docker("rmi", "-f", i)
    mounts, cgroups = daemon.leftovers(set())
    assert not mounts and not cgroups


def _tar(entries: dict[str, bytes | None], links: dict[str, tuple[str, str]] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries.items():
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
            ti.linkname = target
            tf.addfile(ti)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        for m in tf:
            f = tf.extractfile(m) if m.isreg() else None
            out[m.name] = f.read() if f else None
    return out


# -- the docker CLI ------------------------------------------------------------------------

def test_docker_commit_and_run(daemon, made):
    c, img = _name("commit-src"), _name("committed")
    made["containers"].append(c)
    daemon.docker("run", "--name", c, "busybox", "sh", "-c", "echo committed > /hello; rm /bin/vi",
                  check=True)
    r = daemon.docker("commit", "-a", "Ada", "-m", "a message", "--change", 'CMD ["cat", "/hello"]',
                      "--change", "ENV FOO=bar", c, f"{img}:v1")
    assert r.returncode == 0, r.stderr
    made["images"].append(f"{img}:v1")
    image_id = r.stdout.decode().strip()
    assert image_id.startswith("sha256:")
    info = daemon.client().api.inspect_image(f"{img}:v1")
    assert info["Id"] == image_id and info["Author"] == "Ada" and info["Comment"] == "a message"
    assert info["Config"]["Cmd"] == ["cat", "/hello"] and "FOO=bar" in info["Config"]["Env"]
    base = daemon.client().api.inspect_image("busybox")
    assert info["Parent"] == base["Id"]
    assert info["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    hist = daemon.client().api.history(f"{img}:v1")
    assert hist[0]["Comment"] == "a message"
    # the committed image runs its new CMD, shows the file, and lacks the deleted one
    r = daemon.docker("run", "--rm", f"{img}:v1")
    assert r.returncode == 0 and r.stdout == b"committed\n", r.stderr
    r = daemon.docker("run", "--rm", f"{img}:v1", "sh", "-c", "test -e /bin/vi; echo $?; echo $FOO")
    assert r.stdout.split() == [b"1", b"bar"]
    # the engine's own files are not part of the layer
    layer = daemon.docker("save", f"{img}:v1").stdout
    with tarfile.open(fileobj=io.BytesIO(layer)) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        top = tf.extractfile(manifest[0]["Layers"][-1]).read()  # type: ignore[union-attr]
    names = set(_members(top))
    assert "hello" in names and "bin/.wh.vi" in names
    assert not names & {"etc/hostname", "etc/hosts", "etc/resolv.conf"}


def test_commit_running_container_pauses_and_resumes(daemon, made):
    c, img = _name("commit-run"), _name("committed-run")
    made["containers"].append(c)
    daemon.docker("run", "-d", "--name", c, "busybox", "sh", "-c", "echo x > /mark; sleep 60", check=True)
    r = daemon.dockyard("commit", "-c", "CMD cat /mark", c, img)
    assert r.returncode == 0, r.stderr
    made["images"].append(img)
    state = daemon.client().api.inspect_container(c)["State"]
    assert state["Status"] == "running" and not state["Paused"]
    r = daemon.docker("run", "--rm", img)
    assert r.stdout == b"x\n", r.stderr
    # without a repository: an untagged image
    st, body, _ = call(daemon, "POST", f"/commit?container={c}&pause=false", {"Labels": {"k": "v"}})
    assert st == 201, body
    untagged = json.loads(body)["Id"]
    made["images"].append(untagged)
    assert daemon.client().api.inspect_image(untagged)["Config"]["Labels"] == {"k": "v"}


def test_docker_cp_both_ways(daemon, made, tmp_path):
    run, stopped = _name("cp-run"), _name("cp-stopped")
    made["containers"] += [run, stopped]
    daemon.docker("run", "-d", "--name", run, "busybox", "sleep", "60", check=True)
    src = tmp_path / "in.txt"
    src.write_text("into a running container\n")
    r = daemon.docker("cp", str(src), f"{run}:/tmp/in.txt")
    assert r.returncode == 0, r.stderr
    assert daemon.docker("exec", run, "cat", "/tmp/in.txt").stdout == b"into a running container\n"
    d = tmp_path / "dir"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f").write_text("deep\n")
    assert daemon.docker("cp", str(d), f"{run}:/tmp").returncode == 0  # into an existing directory
    assert daemon.docker("exec", run, "cat", "/tmp/dir/sub/f").stdout == b"deep\n"
    assert daemon.docker("cp", str(d), f"{run}:/opt").returncode == 0  # as a new name
    assert daemon.docker("exec", run, "cat", "/opt/sub/f").stdout == b"deep\n"

    daemon.docker("run", "--name", stopped, "busybox", "sh", "-c", "mkdir /data; echo out > /data/f",
                  check=True)
    out = tmp_path / "out"
    r = daemon.docker("cp", f"{stopped}:/data", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "f").read_text() == "out\n"
    r = daemon.docker("cp", f"{stopped}:/data/f", "-")
    assert _members(r.stdout) == {"f": b"out\n"}
    # into a stopped container too, and out with dockyard both ways
    assert daemon.docker("cp", str(src), f"{stopped}:/data/").returncode == 0
    r = daemon.dockyard("cp", f"{stopped}:/data/in.txt", str(tmp_path / "back.txt"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.txt").read_text() == "into a running container\n"
    r = daemon.dockyard("cp", str(d), f"{stopped}:/data")
    assert r.returncode == 0, r.stderr
    r = daemon.dockyard("cp", f"{stopped}:/data/dir/sub/f", "-")
    assert _members(r.stdout) == {"f": b"deep\n"}
    r = daemon.dockyard("cp", "-", f"{stopped}:/data", input=_tar({"piped": b"stdin\n"}))
    assert r.returncode == 0, r.stderr
    assert _members(daemon.docker("cp", f"{stopped}:/data/piped", "-").stdout) == {"piped": b"stdin\n"}
    # `DIR/.` copies the contents; -a gives the files the container user's uid/gid
    out2 = tmp_path / "contents"
    out2.mkdir()
    r = daemon.docker("cp", f"{stopped}:/data/.", str(out2))
    assert r.returncode == 0, r.stderr
    assert (out2 / "f").read_text() == "out\n" and (out2 / "piped").exists()
    r = daemon.dockyard("cp", f"{stopped}:/data/dir/.", str(tmp_path / "contents2"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "contents2" / "sub" / "f").read_text() == "deep\n"
    os.chown(src, 4242, 4242)
    assert daemon.docker("cp", str(src), f"{run}:/tmp/owned").returncode == 0
    assert daemon.docker("exec", run, "stat", "-c", "%u:%g", "/tmp/owned").stdout == b"4242:4242\n"
    assert daemon.docker("cp", "-a", str(src), f"{run}:/tmp/owned-a").returncode == 0
    assert daemon.docker("exec", run, "stat", "-c", "%u:%g", "/tmp/owned-a").stdout == b"0:0\n"
    # nothing stays mounted for the stopped container
    mounts, _ = daemon.leftovers({run})
    assert not [m for m in mounts if stopped in m]


def test_stat_header_and_head(daemon, made):
    c = _name("cp-stat")
    made["containers"].append(c)
    daemon.docker("run", "--name", c, "busybox", "sh", "-c",
                  "mkdir /d; printf 12345 > /d/f; ln -s /d/f /lnk", check=True)
    st, _, headers = call(daemon, "HEAD", f"/containers/{c}/archive?path=/d/f")
    assert st == 200
    stat = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert stat["name"] == "f" and stat["size"] == 5 and stat["mode"] == 0o644 and stat["linkTarget"] == ""
    _, _, headers = call(daemon, "HEAD", f"/containers/{c}/archive?path=/d")
    stat = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert stat["mode"] & (1 << 31) and stat["name"] == "d"
    _, _, headers = call(daemon, "HEAD", f"/containers/{c}/archive?path=/lnk")
    stat = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert stat["mode"] & (1 << 27) and stat["linkTarget"] == "/d/f"
    # GET of a symlink gives the link itself; its top entry is the base name
    st, body, headers = call(daemon, "GET", f"/containers/{c}/archive?path=/lnk")
    assert st == 200 and "x-docker-container-path-stat" in headers
    with tarfile.open(fileobj=io.BytesIO(body)) as tf:
        (m,) = tf.getmembers()
        assert m.name == "lnk" and m.issym() and m.linkname == "/d/f"


# -- docker-py -------------------------------------------------------------------------------

def test_docker_py_commit_put_get(daemon, made):
    client = daemon.client()
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, name=_name("py-cp"))
    made["containers"].append(c.name)
    assert c.put_archive("/tmp", _tar({"pyfile": b"from docker-py\n", "pydir": None,
                                       "pydir/inner": b"inner\n"}))
    stream, stat = c.get_archive("/tmp/pydir")
    assert stat["name"] == "pydir" and stat["mode"] & (1 << 31)
    got = _members(b"".join(stream))
    assert got == {"pydir": None, "pydir/inner": b"inner\n"}
    img = c.commit(repository=_name("pycommit"), tag="t", changes=["CMD cat /tmp/pyfile"],
                   message="py", author="py-author")
    made["images"].append(img.id)
    assert img.attrs["Comment"] == "py" and img.attrs["Author"] == "py-author"
    out = client.containers.run(img.id, remove=True)
    assert out == b"from docker-py\n"


# -- bad input ------------------------------------------------------------------------------

@pytest.fixture()
def hostile(daemon, made, tmp_path):
    """A stopped container holding symlinks that point at the host's files, by absolute and relative paths."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "secret").write_text("host secret\n")
    c = _name("cp-hostile")
    made["containers"].append(c)
    daemon.docker("run", "--name", c, "busybox", "sh", "-c",
                  f"ln -s /etc /hostetc; ln -s {victim} /victim; ln -s ../../../../../../../{victim} /rel;"
                  f" mkdir -p {victim}; echo container > {victim}/secret", check=True)
    return c, victim


def test_get_never_reads_the_host(daemon, hostile):
    c, victim = hostile
    host_passwd = Path("/etc/passwd").read_bytes()
    for path in ("/hostetc/passwd", "/../../../etc/passwd", "/hostetc/../../../../etc/passwd"):
        st, body, _ = call(daemon, "GET", f"/containers/{c}/archive?path={path}")
        assert st == 200, body
        data = _members(body)["passwd"]
        assert data != host_passwd and b"root:x:0:0" in (data or b"")  # busybox's own passwd
    # a file only the host has: 404, never the host's
    assert Path("/etc/os-release").exists()
    st, body, _ = call(daemon, "GET", f"/containers/{c}/archive?path=/hostetc/os-release")
    assert st == 404 and message(body) == f"Could not find the file /hostetc/os-release in container {c}"
    # absolute and relative links to the host's directory resolve to the container's copy
    for path in ("/victim/secret", "/rel/secret"):
        st, body, _ = call(daemon, "GET", f"/containers/{c}/archive?path={path}")
        assert st == 200 and _members(body) == {"secret": b"container\n"}
    r = daemon.docker("cp", f"{c}:/victim/secret", "-")
    assert r.returncode == 0 and _members(r.stdout) == {"secret": b"container\n"}
    # following the link with -L resolves inside the container's rootfs
    r = daemon.docker("cp", "-L", f"{c}:/hostetc/passwd", "-")
    assert r.returncode == 0 and _members(r.stdout)["passwd"] != host_passwd


def test_put_never_writes_the_host(daemon, hostile):
    c, victim = hostile
    before = (victim / "secret").read_text()
    listing = sorted(os.listdir(victim))
    # through an absolute symlink as the extraction point: lands inside the container
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/victim", _tar({"secret": b"ctr1\n"}))
    assert st == 200, body
    assert _members(call(daemon, "GET", f"/containers/{c}/archive?path={victim}/secret")[1]) == \
        {"secret": b"ctr1\n"}
    # through a symlink inside the tar, and through one in the container
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/", _tar({}, {"escape": ("sym", str(victim))}))
    assert st == 200, body  # a symlink may point anywhere: it is resolved inside the container
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/", _tar({"escape/secret": b"pwned\n"}))
    assert st == 400, body
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/", _tar({"victim/secret": b"pwned\n"}))
    assert st == 400, body
    # hardlinks: an absolute target names the container's file; a `../` target is refused
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/",
                       _tar({}, {"hl": ("hard", str(victim / "secret"))}))
    assert st == 200, body
    assert _members(call(daemon, "GET", f"/containers/{c}/archive?path=/hl")[1]) == {"hl": b"ctr1\n"}
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/tmp",
                       _tar({}, {"hl2": ("hard", f"../../../../..{victim}/secret")}))
    assert st == 400, body
    # `../` entries: refused as a whole, nothing written (not even the good entry before it)
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/tmp",
                       _tar({"good": b"x", f"../../../../../../..{victim}/secret": b"pwned\n"}))
    assert st == 400, body
    assert daemon.docker("cp", f"{c}:/tmp/good", "-").returncode != 0
    # path traversal in the query
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/../../../..{victim}",
                       _tar({"secret": b"ctr2\n"}))
    assert st == 200, body
    assert (victim / "secret").read_text() == before
    assert sorted(os.listdir(victim)) == listing
    # the docker CLI through the container's symlink writes into the container only
    r = daemon.docker("cp", "-", f"{c}:/victim", input=_tar({"secret": b"ctr3\n"}))
    assert r.returncode == 0, r.stderr
    assert (victim / "secret").read_text() == before and sorted(os.listdir(victim)) == listing
    r = daemon.docker("cp", f"{c}:{victim}/secret", "-")
    assert _members(r.stdout) == {"secret": b"ctr3\n"}


def _ordered_tar(entries: list[tuple[str, bytes, str]]) -> bytes:
    """A tar of (name, type, link target or file content) in exactly this order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, value in entries:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = kind, 0o644
            if kind == tarfile.REGTYPE:
                ti.size = len(value)
                tf.addfile(ti, io.BytesIO(value.encode()))
            else:
                ti.linkname = value
                tf.addfile(ti)
    return buf.getvalue()


def test_a_refused_put_writes_nothing(daemon, hostile):
    """Issue 14, defect 3: the tar is checked as a whole (as the extractor would see the tree
    after each entry) before its first entry is written."""
    c, victim = hostile
    listing = sorted(os.listdir(victim))
    bad = {
        "a symlink out, then a file through it": _ordered_tar(
            [("out", tarfile.SYMTYPE, str(victim)), ("out/secret", tarfile.REGTYPE, "pwned\n")]),
        "a file, then an entry beneath it": _tar({"plain": b"x", "plain/below": b"y"}),
        "a good file, then a hardlink to a dir": _tar({"good": b"x"}, {"hl": ("hard", "/etc")}),
    }
    for what, tar in bad.items():
        st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/tmp", tar)
        assert st == 400, (what, body)
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/&noOverwriteDirNonDir=true",
                       _tar({"tmp/fresh": b"x", "etc": b"file over a dir"}))
    assert st == 400 and "cannot overwrite directory" in message(body), body
    # the docker CLI gets the 400 too
    r = daemon.docker("cp", "-", f"{c}:/tmp", input=bad["a symlink out, then a file through it"])
    assert r.returncode != 0 and b"beneath a non-directory" in r.stderr, r.stderr
    for name in ("out", "plain", "good", "hl", "fresh"):
        st, _, _ = call(daemon, "HEAD", f"/containers/{c}/archive?path=/tmp/{name}")
        assert st == 404, f"/tmp/{name} was written by a refused PUT"
    assert sorted(os.listdir(victim)) == listing


def test_errors(daemon, made, tmp_path):
    c = _name("cp-errors")
    made["containers"].append(c)
    daemon.docker("create", "--name", c, "busybox", "true", check=True)
    st, body, _ = call(daemon, "GET", "/containers/no-such-ctr/archive?path=/etc")
    assert st == 404 and message(body) == "No such container: no-such-ctr"
    st, body, _ = call(daemon, "PUT", "/containers/no-such-ctr/archive?path=/", _tar({"a": b"a"}))
    assert st == 404
    st, body, _ = call(daemon, "HEAD", f"/containers/{c}/archive?path=/nope")
    assert st == 404
    st, body, _ = call(daemon, "GET", f"/containers/{c}/archive?path=/nope/x")
    assert st == 404 and message(body) == f"Could not find the file /nope/x in container {c}"
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/etc/passwd", _tar({"a": b"a"}))
    assert st == 400 and "extraction point is not a directory" in message(body)
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/nope", _tar({"a": b"a"}))
    assert st == 404
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/tmp", b"not a tar at all" * 64)
    assert st == 400
    st, body, _ = call(daemon, "PUT", f"/containers/{c}/archive?path=/&noOverwriteDirNonDir=true",
                       _tar({"etc": b"file over a dir"}))
    assert st == 400
    (tmp_path / "f").write_text("x")
    r = daemon.docker("cp", str(tmp_path / "f"), "no-such-ctr:/tmp")
    assert r.returncode != 0 and b"No such container" in r.stderr
    r = daemon.docker("cp", f"{c}:/nope", str(tmp_path / "g"))
    assert r.returncode != 0 and b"Could not find the file /nope" in r.stderr
    r = daemon.dockyard("cp", f"{c}:/nope", str(tmp_path / "g"))
    assert r.returncode != 0 and b"Could not find the file /nope" in r.stderr
    st, body, _ = call(daemon, "POST", "/commit?container=no-such-ctr")
    assert st == 404
    st, body, _ = call(daemon, "POST", f"/commit?container={c}&changes=BOGUS%20x")
    assert st == 400


def test_cp_sees_what_the_running_container_sees(daemon, made, tmp_path):
    """Bind-mounted /etc files and volumes of a running container, as Docker's cp shows them."""
    c, vol = _name("cpview"), _name("cpvol")
    made["containers"].append(c)
    try:
        r = daemon.docker("run", "-d", "--name", c, "-h", "cp-host", "-v", f"{vol}:/data",
                          "busybox", "sleep", "60")
        assert r.returncode == 0, r.stderr
        assert daemon.docker("cp", f"{c}:/etc/hostname", str(tmp_path / "hn")).returncode == 0
        assert (tmp_path / "hn").read_text() == "cp-host\n"
        (tmp_path / "in").write_text("into the volume\n")
        assert daemon.docker("cp", str(tmp_path / "in"), f"{c}:/data/in").returncode == 0
        out = daemon.docker("exec", c, "cat", "/data/in").stdout
        assert out == b"into the volume\n"
    finally:
        daemon.docker("rm", "-f", c)
        daemon.docker("volume", "rm", vol)
