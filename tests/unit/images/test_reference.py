"""Reference parsing and normalisation, table-driven against Docker's behaviour."""
from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.images.reference import check_tag, parse_any, parse_normalized

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("given,full,familiar", [
    ("busybox", "docker.io/library/busybox", "busybox"),
    ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("library/busybox", "docker.io/library/busybox", "busybox"),
    ("docker.io/busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("index.docker.io/user/app", "docker.io/user/app", "user/app"),
    ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
    ("host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000/a/b:tag"),
    ("localhost/x", "localhost/x", "localhost/x"),
    ("localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x:1"),
    ("example.com/a", "example.com/a", "example.com/a"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
    (f"busybox:1@{D}", f"docker.io/library/busybox:1@{D}", f"busybox:1@{D}"),
    ("u/a_b.c-d__e/x---y", "docker.io/u/a_b.c-d__e/x---y", "u/a_b.c-d__e/x---y"),
])
def test_normalise(given, full, familiar):
    ref = parse_normalized(given)
    assert str(ref) == full
    assert ref.familiar() == familiar


def test_default_tag():
    assert parse_normalized("busybox").with_default_tag().familiar() == "busybox:latest"
    assert parse_normalized(f"busybox@{D}").with_default_tag().tag is None


@pytest.mark.parametrize("given,message", [
    ("BusyBox", "invalid reference format: repository name must be lowercase"),
    ("user/App:1", "invalid reference format: repository name must be lowercase"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("", "invalid reference format"),
    ("busybox:", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("-abc", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("busybox@sha256:zz", "invalid reference format"),
    ("x:" + "t" * 200, "invalid reference format"),
    ("a_b.c/x", "invalid reference format"),
])
def test_invalid(given, message):
    with pytest.raises(InvalidParameter, match=message.replace("(", r"\(")):
        parse_normalized(given)


def test_uppercase_tag_is_fine():
    assert parse_normalized("busybox:Latest").tag == "Latest"


def test_parse_any_ids():
    assert parse_any("a" * 64) == D
    assert parse_any(D) == D
    assert parse_any("abc123").familiar() == "abc123"  # a short ID parses as a name first


def test_check_tag():
    check_tag("v1.0_rc-1")
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        check_tag(".bad")
