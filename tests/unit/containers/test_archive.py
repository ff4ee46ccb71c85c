"""containers/archive.py: path resolution inside a rootfs, the stat header, rebased tars (no root needed)."""
from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from dockyard.containers import archive
from dockyard.errors import InvalidParameter, NotFound


@pytest.fixture()
def root(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("ctr\n")
    (r / "d").mkdir()
    (r / "d" / "f").write_text("12345")
    os.symlink("/etc", r / "hostetc")
    os.symlink("../../../../etc", r / "rel")
    os.symlink("/d/f", r / "lnk")
    return str(r)


def test_go_mode():
    assert archive.go_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert archive.go_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert archive.go_mode(stat.S_IFCHR | 0o600) == (1 << 26) | (1 << 21) | 0o600
    assert archive.go_mode(stat.S_IFREG | stat.S_ISUID | 0o755) == (1 << 23) | 0o755


def test_resolve_stays_inside(root):
    for path in ("/hostetc/passwd", "/rel/passwd", "/../../etc/passwd", "hostetc/../../etc/passwd"):
        host, _ = archive.resolve(root, path)
        assert host == os.path.join(root, "etc", "passwd"), path
    # the last component is not followed, unless the path names a directory
    assert archive.resolve(root, "/hostetc") == (os.path.join(root, "hostetc"), "/hostetc")
    assert archive.resolve(root, "/hostetc/.")[0] == os.path.join(root, "etc")
    with pytest.raises(InvalidParameter):
        archive.resolve(root, "")


def test_stat(root):
    st = archive.stat_path(root, "/lnk", "c")
    assert st["name"] == "lnk" and st["linkTarget"] == "/d/f" and st["mode"] & (1 << 27)
    assert archive.stat_path(root, "/d/f", "c")["size"] == 5
    with pytest.raises(NotFound, match="^Could not find the file /nope/x in container c$"):
        archive.stat_path(root, "/nope/x", "c")


def test_write_tar_rebases(root):
    out = io.BytesIO()
    archive.write_tar(root, "/d", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == ["d", "d/f"]
    out = io.BytesIO()
    archive.write_tar(root, "/d/.", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        assert tf.getnames() == [".", "./f"]


def _tar(*names: str) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n in names:
            ti = tarfile.TarInfo(n)
            ti.size = 1
            tf.addfile(ti, io.BytesIO(b"x"))
    buf.seek(0)
    return buf


def test_extract_checks_the_whole_tar_first(root):
    with pytest.raises(InvalidParameter):
        archive.extract(root, "/d", "c", _tar("good", "../../escape"), False, None)
    assert not os.path.exists(os.path.join(root, "d", "good"))
    with pytest.raises(InvalidParameter, match="extraction point is not a directory"):
        archive.extract(root, "/d/f", "c", _tar("a"), False, None)
    with pytest.raises(NotFound):
        archive.extract(root, "/missing", "c", _tar("a"), False, None)
    # through the container's symlink to /etc: the container's etc
    archive.extract(root, "/hostetc", "c", _tar("new"), False, None)
    assert os.path.exists(os.path.join(root, "etc", "new"))
    # a parent that is a symlink is refused; `.wh.` names are plain files here
    with pytest.raises(InvalidParameter):
        archive.extract(root, "/", "c", _tar("hostetc/x"), False, None)
    archive.extract(root, "/d", "c", _tar(".wh.f"), False, None)
    assert os.path.exists(os.path.join(root, "d", "f")) and os.path.exists(os.path.join(root, "d", ".wh.f"))
    with pytest.raises(InvalidParameter, match="cannot overwrite directory"):
        archive.extract(root, "/", "c", _tar("d"), True, None)
