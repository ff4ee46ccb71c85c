#!/usr/bin/env python3
"""Pull throughput from Debian's docker-registry on loopback into dockyardd: 4 x 25 MB of random
data and a one-layer real root filesystem (~10k files, ~250 MB), cold and with base layers present.
Prints seconds (median of N), MB/s of compressed blobs and files/s. Never passes or fails on time."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.distribution.goregistry import GoRegistry, docker_archive, tar_of  # noqa: E402
from tests.support.daemon import TestDaemon  # noqa: E402


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=600)
        self.path_ = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path_)


def api(sock: str, method: str, path: str) -> bytes:
    c = UnixConn(sock)
    c.request(method, "/v1.41" + path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status >= 400:
        raise RuntimeError(f"{method} {path}: {r.status} {body[:300]!r}")
    return body


def pull(sock: str, ref: str) -> float:
    name, tag = ref.rsplit(":", 1)
    t = time.perf_counter()
    body = api(sock, "POST", f"/images/create?fromImage={name}&tag={tag}")
    elapsed = time.perf_counter() - t
    for line in body.splitlines():
        if line.strip() and "error" in json.loads(line):
            raise RuntimeError(f"pull {ref} failed: {line!r}")
    return elapsed


def rmi(sock: str, ref: str) -> None:
    try:
        api(sock, "DELETE", f"/images/{ref}?force=1")
    except RuntimeError:
        pass


def rootfs_tar(out: Path, files: int, size_mb: int) -> int:
    """A tar of real system files: small ones from /usr/share, big ones from /usr/lib to reach the size."""
    chosen: list[str] = []
    total = 0
    for root, dirs, names in os.walk("/usr/share"):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p) and len(chosen) < files * 0.9:
                chosen.append(p)
                total += os.path.getsize(p)
    for root, dirs, names in os.walk("/usr/lib/x86_64-linux-gnu"):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(root, n)
            if total >= size_mb * 1e6 or len(chosen) >= files:
                break
            if os.path.isfile(p) and not os.path.islink(p):
                chosen.append(p)
                total += os.path.getsize(p)
    listing = out.with_suffix(".list")
    listing.write_text("\n".join(chosen) + "\n")
    subprocess.run(["tar", "--no-recursion", "-cf", str(out), "-T", str(listing)], check=True,
                   stderr=subprocess.DEVNULL)
    return len(chosen)


def blob_bytes(reg: GoRegistry, name: str) -> int:
    raw = reg.inspect_raw(name)
    return sum(layer["size"] for layer in raw["layers"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layer-mb", type=int, default=25)
    ap.add_argument("--rootfs-files", type=int, default=10_000)
    ap.add_argument("--rootfs-mb", type=int, default=250)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (dockyardd unpacks layers)")
    base = Path(tempfile.mkdtemp(prefix="dybench-pull-"))
    reg = GoRegistry(base / "registry").start()
    d = TestDaemon()
    results: list[tuple[str, float, float, int]] = []
    try:
        t0 = time.time()
        rnd = [tar_of({f"blob{i}": os.urandom(args.layer_mb * 1_000_000)}) for i in range(4)]
        top = tar_of({"top": os.urandom(args.layer_mb * 1_000_000)})
        docker_archive(base / "random.tar", rnd, "random:latest")
        docker_archive(base / "random2.tar", rnd[:3] + [top], "random2:latest")
        del rnd, top
        nfiles = rootfs_tar(base / "rootfs-layer.tar", args.rootfs_files, args.rootfs_mb)
        raw_mb = (base / "rootfs-layer.tar").stat().st_size / 1e6
        small = tar_of({"etc/motd": b"hello\n"})
        layer = (base / "rootfs-layer.tar").read_bytes()
        docker_archive(base / "rootfs.tar", [layer], "rootfs:latest")
        docker_archive(base / "rootfs2.tar", [layer, small], "rootfs2:latest")
        del layer
        for n in ("random", "random2", "rootfs", "rootfs2"):
            reg.skopeo_copy(f"docker-archive:{base / (n + '.tar')}", f"{n}:latest")
            (base / f"{n}.tar").unlink()
        print(f"fixtures ready in {time.time() - t0:.1f}s: rootfs layer {nfiles} files, {raw_mb:.0f} MB raw, "
              f"{blob_bytes(reg, 'rootfs:latest') / 1e6:.0f} MB gzip", flush=True)
        d.start()
        sock = d.socket
        cases = [
            ("4 x random layers, cold", "random:latest", [], blob_bytes(reg, "random:latest"), 4),
            ("random, 3 base layers present", "random2:latest", ["random:latest"],
             blob_bytes(reg, "random2:latest") - blob_bytes(reg, "random:latest") * 3 // 4, 1),
            (f"rootfs ({nfiles} files), cold", "rootfs:latest", [], blob_bytes(reg, "rootfs:latest"), nfiles),
            ("rootfs + 1 small layer, base present", "rootfs2:latest", ["rootfs:latest"],
             blob_bytes(reg, "rootfs2:latest") - blob_bytes(reg, "rootfs:latest"), 1),
        ]
        for label, name, present, nbytes, files in cases:
            times = []
            for _ in range(args.runs):
                for n in [name, *present]:
                    rmi(sock, f"{reg.host}/{n}")
                for n in present:
                    pull(sock, f"{reg.host}/{n}")
                times.append(pull(sock, f"{reg.host}/{name}"))
            if files > 1000:  # the disk's own pace for this layer, alternating with the pulls
                tar_times = []
                for _ in range(args.runs):
                    dest = d.data_root / "tmp" / "gnu-tar-reference"
                    dest.mkdir(parents=True)
                    t = time.perf_counter()
                    subprocess.run(["tar", "-xf", str(base / "rootfs-layer.tar"), "-C", str(dest)], check=True)
                    tar_times.append(time.perf_counter() - t)
                    shutil.rmtree(dest)
                print(f"{'  (GNU tar -xf of the same raw layer, same disk)':42s} "
                      f"{statistics.median(tar_times):7.2f} s", flush=True)
            med = statistics.median(times)
            results.append((label, med, nbytes / 1e6 / med, int(files / med)))
            print(f"{label:42s} {med:7.2f} s  {nbytes / 1e6 / med:8.1f} MB/s  {files / med:9.0f} files/s  "
                  f"(runs: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
        print()
        if os.path.exists("/var/run/docker.sock"):
            print("a docker.sock exists; compare with: docker pull from the same registry (not automated here)")
        else:
            print("dockerd: not running here (/var/run/docker.sock absent), no side-by-side run. "
                  "Reference figures measured on this kind of machine: 4 x 25 MB random ~0.8 s, "
                  "10k-file layer ~3 s; target half of that.")
    finally:
        d.cleanup()
        reg.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
