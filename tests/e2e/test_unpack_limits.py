"""Decompression bombs (issue 14, defect 8): import, load, PUT archive and build contexts stop at the
daemon's unpack limits with a 400 that names the limit, and leave no image, layer or temp file.

The daemon runs with small limits (16 MiB, ratio 10 past 4 MiB) so a bomb of 256 MiB of zeros
(~250 KiB gzip) is refused after a few MiB of work.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import zlib
from pathlib import Path

import docker
import pytest

from tests.support.daemon import private_daemon

LIMITS = {"max-unpack-size": "16m", "max-unpack-ratio": 10, "unpack-ratio-threshold": "4m"}
_MIB = 1 << 20


@pytest.fixture(scope="module")
def small_limits():
    with private_daemon(extra_config=LIMITS) as d:
        yield d


def _zeros_tar(size: int, name: str = "zeros") -> bytes:
    """An uncompressed tar holding one file of `size` zero bytes, written without holding it."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo(name)
        ti.size = size
        tf.addfile(ti, _Zeros(size))
    return out.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"\0" * n


def _bomb(files: int = 12, size: int = _MIB) -> bytes:
    """gzip of a tar of `files` files of `size` zero bytes each, compressed chunk by chunk.

    Each file is below the size limit: only the ratio (12 MiB from ~12 KiB) stops it.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = []
    chunk = b"\0" * _MIB
    for i in range(files):
        ti = tarfile.TarInfo(f"zeros{i}")
        ti.size = size
        parts.append(comp.compress(ti.tobuf(tarfile.GNU_FORMAT)))
        for _ in range(size // _MIB):
            parts.append(comp.compress(chunk))
    parts.append(comp.compress(b"\0" * 1024))  # end-of-archive
    parts.append(comp.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = _bomb()
    assert len(data) < 64 * 1024
    return data


def test_a_2_gib_bomb_is_refused_at_its_first_header(small_limits):
    """One 2 GiB file in a ~2 MiB gzip: its header alone passes the size limit."""
    d = small_limits
    before, images = _state(d), _images(d)
    ti = tarfile.TarInfo("zeros")
    ti.size = 2048 * _MIB
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = comp.compress(ti.tobuf(tarfile.GNU_FORMAT) + b"\0" * (4 * _MIB)) + comp.flush(zlib.Z_SYNC_FLUSH)
    r = d.docker("import", "-", "dytest-bomb:latest", input=head)  # the rest need never be sent
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "max-unpack-size" in err and "daemon.json" in err, err
    assert _images(d) == images
    assert _state(d) == before


def _state(d) -> set[str]:
    """What an unpack could leave behind: temp files, layer dirs, blobs, ingests."""
    root = Path(d.data_root)
    found = set()
    for top in ("tmp", "content", "overlay2", "vfs", "image"):
        base = root / top
        if not base.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, root)
            if rel.count(os.sep) >= 3:
                dirnames[:] = []
            found.update(os.path.join(rel, n) for n in dirnames + filenames)
    return found


def _images(d) -> list[str]:
    return sorted(d.docker("images", "-aq", "--no-trunc", check=True).stdout.decode().split())


def test_docker_import_of_a_gzip_bomb_is_refused_by_ratio(small_limits, bomb):
    d = small_limits
    before, images = _state(d), _images(d)
    r = d.docker("import", "-", "dytest-bomb:latest", input=bomb)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "max-unpack-ratio" in err and "daemon.json" in err, err
    assert _images(d) == images
    assert _state(d) == before


def test_docker_import_past_the_size_limit_is_refused(small_limits):
    d = small_limits
    before, images = _state(d), _images(d)
    r = d.docker("import", "-", "dytest-big:latest", input=_zeros_tar(20 * _MIB))  # ratio 1: size only
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "max-unpack-size" in err and "16 MiB" in err and "--max-unpack-size" in err, err
    assert _images(d) == images
    assert _state(d) == before


def test_an_archive_under_the_limits_imports(small_limits):
    d = small_limits
    r = d.docker("import", "-", "dytest-small:latest", input=gzip.compress(_zeros_tar(3 * _MIB)))
    assert r.returncode == 0, r.stderr
    d.docker("rmi", "dytest-small:latest", check=True)


def _docker_archive(layer: bytes) -> bytes:
    """A `docker save` archive of one image whose layer blob is `layer` (its diffID made up)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()
    files = {"layer.tar": layer, "config.json": config,
             "manifest.json": json.dumps([{"Config": "config.json", "RepoTags": ["dytest-load:latest"],
                                           "Layers": ["layer.tar"]}]).encode()}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def test_docker_load_of_an_archive_with_a_bomb_layer_is_refused(small_limits, bomb):
    d = small_limits
    before, images = _state(d), _images(d)
    r = d.docker("load", input=_docker_archive(bomb))
    assert r.returncode != 0
    assert "max-unpack-ratio" in r.stderr.decode(), r.stderr
    assert _images(d) == images
    assert _state(d) == before


def test_docker_load_of_an_archive_past_the_size_limit_is_refused(small_limits):
    d = small_limits
    before = _state(d)
    r = d.docker("load", input=gzip.compress(_docker_archive(_zeros_tar(20 * _MIB)), 1))
    assert r.returncode != 0
    assert "max-unpack" in r.stderr.decode(), r.stderr
    assert _state(d) == before


def test_put_archive_of_a_bomb_writes_nothing(small_limits, bomb):
    d = small_limits
    client = d.client()
    c = client.containers.create("busybox", ["true"], name="dytest-bombput")
    try:
        with pytest.raises(docker.errors.APIError) as info:
            c.put_archive("/tmp", bomb)
        assert info.value.status_code == 400
        assert "max-unpack-ratio" in str(info.value.explanation)
        with pytest.raises(docker.errors.NotFound):
            c.get_archive("/tmp/zeros0")
    finally:
        c.remove(force=True)
        client.close()


def test_a_build_context_bomb_is_refused(small_limits):
    d = small_limits
    ctx = io.BytesIO()
    with tarfile.open(fileobj=ctx, mode="w") as tf:
        df = b"FROM busybox\nCOPY zeros /zeros\n"
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(df)
        tf.addfile(ti, io.BytesIO(df))
        ti = tarfile.TarInfo("zeros")
        ti.size = 64 * _MIB
        tf.addfile(ti, _Zeros(ti.size))
    body = gzip.compress(ctx.getvalue(), 6)
    before = _state(d)
    client = docker.APIClient(base_url=d.host, version="1.41", timeout=120)
    try:
        with pytest.raises(docker.errors.APIError) as info:
            for _ in client.build(fileobj=io.BytesIO(body), custom_context=True, encoding="gzip",
                                  tag="dytest-bombctx", decode=True):
                pass
        assert info.value.status_code == 400
        assert "max-unpack" in str(info.value.explanation)
    finally:
        client.close()
    assert _state(d) == before


def test_a_bad_limit_in_daemon_json_stops_the_daemon_with_a_message():
    from tests.support.daemon import TestDaemon

    d = TestDaemon(extra_config={"max-unpack-size": "lots"})
    try:
        with pytest.raises(RuntimeError) as info:
            d.start(timeout=20)
        assert "max-unpack-size must be a size" in str(info.value)
    finally:
        d.cleanup()
