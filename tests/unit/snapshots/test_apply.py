"""Layer apply: diffID, gzip, path safety, metadata."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat

import pytest

from dockyard.errors import InvalidParameter
from dockyard.snapshots import apply_layer, clean_name

from .tars import make_tar


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_plain_and_gzip_give_same_diffid(tmp_path):
    tar = make_tar([("a", "dir"), ("a/f", "file", b"hello", 0o640), ("a/l", "sym", "f")])
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    r1 = apply_layer(io.BytesIO(tar), str(tmp_path / "one"))
    r2 = apply_layer(io.BytesIO(gzip.compress(tar)), str(tmp_path / "two"))
    assert r1.diff_id == r2.diff_id == sha(tar)
    assert (r1.media, r2.media) == ("none", "gzip")
    assert r1.tar_size == len(tar) and r1.size == 5
    f = tmp_path / "two" / "a" / "f"
    assert f.read_bytes() == b"hello"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert int(f.stat().st_mtime) == 1_000_000_000
    assert int((tmp_path / "two" / "a").stat().st_mtime) == 1_000_000_000
    assert os.readlink(tmp_path / "two" / "a" / "l") == "f"


@pytest.mark.parametrize("name,expected", [
    ("./a/b", "a/b"), ("/etc/x", "etc/x"), ("a//b/", "a/b"), (".", ""), ("./", "")])
def test_clean_name(name, expected):
    assert clean_name(name) == expected


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a/../b"])
def test_dotdot_refused(tmp_path, name):
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(make_tar([(name, "file", b"x")])), str(tmp_path))
    assert not (tmp_path.parent / "x").exists()


def test_absolute_path_lands_inside(tmp_path):
    apply_layer(io.BytesIO(make_tar([("/etc/x", "file", b"x")])), str(tmp_path))
    assert (tmp_path / "etc" / "x").read_bytes() == b"x"


def test_write_through_symlink_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "layer"
    dest.mkdir()
    tar = make_tar([("evil", "sym", str(outside)), ("evil/pwned", "file", b"x")])
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(tar), str(dest))
    assert list(outside.iterdir()) == []


def test_relative_symlink_escape_refused(tmp_path):
    dest = tmp_path / "layer"
    dest.mkdir()
    tar = make_tar([("up", "sym", "../.."), ("up/pwned", "file", b"x")])
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(tar), str(dest))
    assert not (tmp_path / "pwned").exists() and not (tmp_path.parent / "pwned").exists()


def test_file_over_symlink_replaces_link_not_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"safe")
    dest = tmp_path / "layer"
    dest.mkdir()
    tar = make_tar([("f", "sym", str(victim)), ("f", "file", b"new")])
    apply_layer(io.BytesIO(tar), str(dest))
    assert victim.read_bytes() == b"safe"
    assert not (dest / "f").is_symlink() and (dest / "f").read_bytes() == b"new"


def test_hardlink_outside_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"s")
    dest = tmp_path / "layer"
    dest.mkdir()
    for link in (str(secret), "../secret"):
        with pytest.raises(InvalidParameter):
            apply_layer(io.BytesIO(make_tar([("h", "link", link)])), str(dest))
    assert secret.stat().st_nlink == 1


def test_hardlink_through_symlink_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"s")
    dest = tmp_path / "layer"
    dest.mkdir()
    tar = make_tar([("d", "sym", str(tmp_path)), ("h", "link", "d/secret")])
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(tar), str(dest))
    assert secret.stat().st_nlink == 1


def test_hardlink_inside_ok(tmp_path):
    apply_layer(io.BytesIO(make_tar([("a", "file", b"1"), ("b", "link", "a")])), str(tmp_path))
    assert os.path.samefile(tmp_path / "a", tmp_path / "b")


@pytest.mark.parametrize("data", [b"", b"garbage" * 100, b"\x1f\x8b" + b"\x00" * 50])
def test_corrupt_input(tmp_path, data):
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(data), str(tmp_path))


def test_truncated_tar(tmp_path):
    tar = make_tar([("big", "file", os.urandom(100_000))])
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(tar[:5000]), str(tmp_path))
    with pytest.raises(InvalidParameter):
        apply_layer(io.BytesIO(gzip.compress(tar)[:30_000]), str(tmp_path))


def test_delete_mode_whiteouts(tmp_path):
    (tmp_path / "gone").write_text("x")
    (tmp_path / "opq").mkdir()
    (tmp_path / "opq" / "old").write_text("x")
    tar = make_tar([(".wh.gone", "file"), ("opq/new", "file", b"n"), ("opq/.wh..wh..opq", "file")])
    apply_layer(io.BytesIO(tar), str(tmp_path), "delete")
    assert not (tmp_path / "gone").exists()
    assert sorted(os.listdir(tmp_path / "opq")) == ["new"]
