"""Resolving a container's User against the image's own /etc/passwd and /etc/group."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.containers.user import User, resolve, scoped_path
from dockyard.errors import InvalidParameter

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
app:x:1000:1000:App:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
GROUP = """\
root:x:0:
tty:x:5:app
wheel:x:10:root,app
app:x:1000:
audio:x:29:nobody,app
nogroup:x:65534:
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    return root


def test_empty_user_is_root(rootfs: Path) -> None:
    assert resolve(str(rootfs), "") == User(uid=0, gid=0, additional_gids=[10], home="/root")


def test_root_by_name(rootfs: Path) -> None:
    u = resolve(str(rootfs), "root")
    assert (u.uid, u.gid, u.home) == (0, 0, "/root")
    assert u.additional_gids == [10]  # wheel lists root


def test_numeric_uid_in_passwd_takes_its_entry(rootfs: Path) -> None:
    u = resolve(str(rootfs), "1000")
    assert (u.uid, u.gid, u.home) == (1000, 1000, "/home/app")
    assert u.additional_gids == [5, 10, 29]


def test_numeric_uid_not_in_passwd_gets_gid_0(rootfs: Path) -> None:
    assert resolve(str(rootfs), "4242") == User(uid=4242, gid=0, additional_gids=[], home="/")


def test_nobody(rootfs: Path) -> None:
    u = resolve(str(rootfs), "nobody")
    assert (u.uid, u.gid, u.home) == (65534, 65534, "/nonexistent")
    assert u.additional_gids == [29]


def test_user_and_group_names(rootfs: Path) -> None:
    u = resolve(str(rootfs), "nobody:nogroup")
    assert (u.uid, u.gid) == (65534, 65534)
    u = resolve(str(rootfs), "app:wheel")
    assert (u.uid, u.gid) == (1000, 10)
    assert 10 not in u.additional_gids and u.additional_gids == [5, 29]


def test_numeric_uid_and_gid(rootfs: Path) -> None:
    u = resolve(str(rootfs), "0:5")
    assert (u.uid, u.gid) == (0, 5)
    u = resolve(str(rootfs), "777:888")
    assert (u.uid, u.gid) == (777, 888)


def test_unknown_user_is_an_error(rootfs: Path) -> None:
    with pytest.raises(InvalidParameter, match="unable to find user ghost: no matching entries in passwd file"):
        resolve(str(rootfs), "ghost")


def test_unknown_group_is_an_error(rootfs: Path) -> None:
    with pytest.raises(InvalidParameter, match="unable to find group ghosts"):
        resolve(str(rootfs), "app:ghosts")


def test_missing_etc_files_allow_numeric_ids_only(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    assert resolve(str(root), "") == User(uid=0, gid=0, additional_gids=[], home="/")
    assert resolve(str(root), "12:34") == User(uid=12, gid=34, additional_gids=[], home="/")
    with pytest.raises(InvalidParameter):
        resolve(str(root), "root")


# --- security: the image's files never make the daemon read the host's -------------------

def _host_passwd(tmp_path: Path) -> Path:
    host = tmp_path / "host-secret"
    host.write_text("evil:x:0:0:HOST FILE:/host-home:/bin/sh\n")
    return host


def _image_passwd(root: Path) -> None:
    (root / "etc" / "passwd").write_text("evil:x:4321:4321:image:/image-home:/bin/sh\n")


def test_absolute_symlink_to_host_path_resolves_inside_root(tmp_path: Path, rootfs: Path) -> None:
    host = _host_passwd(tmp_path)
    passwd = rootfs / "etc" / "passwd"
    passwd.unlink()
    passwd.symlink_to(host)  # /tmp/.../host-secret: would read the host file if followed naively
    # inside the root that path does not exist: the user is unknown, the host file unread
    with pytest.raises(InvalidParameter, match="unable to find user evil"):
        resolve(str(rootfs), "evil")
    # and if the same path exists inside the root, that file is the one read
    inner = rootfs / str(host).lstrip("/")
    inner.parent.mkdir(parents=True)
    inner.write_text("evil:x:4321:4321:image:/image-home:/bin/sh\n")
    assert resolve(str(rootfs), "evil") == User(uid=4321, gid=4321, additional_gids=[], home="/image-home")


def test_symlink_to_etc_shadow_reads_the_roots_shadow(rootfs: Path) -> None:
    (rootfs / "etc" / "passwd").unlink()
    (rootfs / "etc" / "passwd").symlink_to("/etc/shadow")
    assert scoped_path(str(rootfs), "/etc/passwd") == os.path.join(str(rootfs), "etc", "shadow")
    with pytest.raises(InvalidParameter):
        resolve(str(rootfs), "root")  # the host's root entry is never seen


def test_dotdot_symlink_cannot_climb_out_of_root(tmp_path: Path, rootfs: Path) -> None:
    host = _host_passwd(tmp_path)
    rel = os.path.relpath(host, rootfs / "etc")  # ../../host-secret
    depth = "../" * 10
    for target in (rel, depth + str(host).lstrip("/")):
        passwd = rootfs / "etc" / "passwd"
        passwd.unlink(missing_ok=True)
        passwd.symlink_to(target)
        resolved = scoped_path(str(rootfs), "/etc/passwd")
        assert resolved.startswith(str(rootfs) + os.sep), (target, resolved)
        with pytest.raises(InvalidParameter):
            resolve(str(rootfs), "evil")


def test_symlinked_etc_directory_is_scoped(tmp_path: Path) -> None:
    host_etc = tmp_path / "hostetc"
    host_etc.mkdir()
    (host_etc / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    root = tmp_path / "r"
    root.mkdir()
    (root / "etc").symlink_to(host_etc)  # absolute: must be taken relative to root
    assert scoped_path(str(root), "/etc/passwd") == os.path.join(str(root), str(host_etc).lstrip("/"), "passwd")
    with pytest.raises(InvalidParameter):
        resolve(str(root), "evil")
    # a relative link inside the root is followed
    (root / "etc").unlink()
    (root / "real-etc").mkdir()
    _dir = root / "real-etc"
    (_dir / "passwd").write_text("ok:x:7:8::/h:/bin/sh\n")
    (root / "etc").symlink_to("real-etc")
    assert resolve(str(root), "ok") == User(uid=7, gid=8, additional_gids=[], home="/h")


def test_dotdot_in_path_stays_in_root(rootfs: Path) -> None:
    assert scoped_path(str(rootfs), "/../../etc/passwd") == os.path.join(str(rootfs), "etc", "passwd")
    assert scoped_path(str(rootfs), "etc/./x/../passwd") == os.path.join(str(rootfs), "etc", "passwd")


def test_symlink_loop_is_an_error_not_a_hang(rootfs: Path) -> None:
    (rootfs / "etc" / "passwd").unlink()
    (rootfs / "etc" / "passwd").symlink_to("passwd2")
    (rootfs / "etc" / "passwd2").symlink_to("/etc/passwd")
    with pytest.raises(InvalidParameter, match="too many levels"):
        scoped_path(str(rootfs), "/etc/passwd")
