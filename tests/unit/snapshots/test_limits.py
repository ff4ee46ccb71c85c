"""Unpack limits: Docker's size syntax, and the meter that stops a bomb by size or by ratio."""
from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from dockyard.snapshots.apply import apply_layer
from dockyard.snapshots.limits import UnpackLimitExceeded, UnpackLimits, parse_size


@pytest.mark.parametrize("text,value", [("64g", 64 << 30), ("512m", 512 << 20), ("1024", 1024),
                                        ("1.5k", 1536), ("2GB", 2 << 30), ("3MiB", 3 << 20), (7, 7)])
def test_sizes_parse_as_docker_writes_them(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["", "lots", "-1m", "0", 0, "1x"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


def test_ratio_counts_only_past_the_threshold():
    m = UnpackLimits(max_size=1 << 30, max_ratio=2, ratio_threshold=100).meter("layer")
    m.add_compressed(1)
    m.add_stream(100)  # 100x, but not past the threshold yet
    with pytest.raises(UnpackLimitExceeded, match="max-unpack-ratio"):
        m.add_stream(1)


def test_size_counts_declared_file_content(tmp_path):
    """A tar whose one header declares more than the limit is refused before its content is read."""
    m = UnpackLimits(max_size=1000).meter("archive")
    with pytest.raises(UnpackLimitExceeded, match="more than 1000 B, the daemon's max-unpack-size"):
        m.add_content(1001)


def _tar(size: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        ti = tarfile.TarInfo("f")
        ti.size = size
        tf.addfile(ti, io.BytesIO(b"\0" * size))
    return out.getvalue()


def test_apply_layer_stops_a_gzip_bomb(tmp_path):
    limits = UnpackLimits(max_size=1 << 30, max_ratio=10, ratio_threshold=64 << 10)
    with pytest.raises(UnpackLimitExceeded, match="10 times its compressed size"):
        apply_layer(io.BytesIO(gzip.compress(_tar(4 << 20))), str(tmp_path), "none", limits)
    ok = tmp_path / "ok"
    ok.mkdir()
    assert apply_layer(io.BytesIO(gzip.compress(_tar(32 << 10))), str(ok), "none", limits).size == 32 << 10
