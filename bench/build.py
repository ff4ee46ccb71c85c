#!/usr/bin/env python3
"""Build times of the issue's 10-step workload through `docker build` (classic POST /build):
FROM busybox, ENV, WORKDIR, COPY of 2,000 files (20 MB), three RUNs, LABEL, EXPOSE, CMD; built
cold (--no-cache), fully cached, and after rewriting one copied file; plus the disk the build
cache takes after 10 rebuilds that each change one file. The same runs against a scratch dockerd
(Debian's docker.io, its classic builder) when one is installed, alternated, with the ratio. Prints figures; never passes or fails on time."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402

DOCKERFILE = """FROM busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY files/ /app/files/
RUN find /app/files -type f | wc -l > /app/count
RUN du -s /app/files > /app/usage
RUN echo "built in $MODE" > /app/mode
LABEL bench=build
EXPOSE 8080
CMD ["cat", "/app/count"]
"""


def make_context(root: Path, files: int = 2000, size: int = 10 * 1024) -> None:
    (root / "files").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE)
    for i in range(files):
        d = root / "files" / f"d{i % 20:02d}"
        d.mkdir(exist_ok=True)
        (d / f"f{i:04d}.bin").write_bytes(os.urandom(size))


def build(host: str, ctx: Path, *args: str) -> float:
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_BUILDKIT": "0"}
    t = time.perf_counter()
    r = subprocess.run(["docker", "build", "-q", "-t", "bench-build:latest", *args, str(ctx)], env=env,
                       capture_output=True, timeout=600)
    elapsed = time.perf_counter() - t
    if r.returncode != 0:  # a failing build is a fast build: never report it
        raise RuntimeError(f"build failed on {host}: {r.stderr.decode()[-500:]}")
    return elapsed


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


def one_round(host: str, ctx: Path, round_no: int) -> tuple[float, float, float]:
    """Cold, fully cached, and after rewriting one copied file (a new one each round)."""
    cold = build(host, ctx, "--no-cache")
    cached = build(host, ctx)
    (ctx / "files" / "d00" / f"f{round_no:04d}.bin").write_bytes(os.urandom(10 * 1024))
    return cold, cached, build(host, ctx)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-dockerd", action="store_true",
                    help="skip the reference dockerd (Debian's docker.io on a scratch socket)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dytest-benchbuild-"))
    d = TestDaemon()
    oracle = None
    try:
        d.start()
        import_busybox(d)
        hosts = {"dockyard": d.host}
        if not args.no_dockerd and shutil.which("dockerd"):
            from tests.support.oracle import DockerdOracle
            oracle = DockerdOracle()
            oracle.start()
            subprocess.run("tools/mkbusybox-rootfs | docker import - busybox:latest", shell=True,
                           env=oracle.env, cwd=REPO, check=True, capture_output=True)
            hosts["dockerd"] = oracle.host
        ctx = tmp / "ctx"
        make_context(ctx)
        for host in hosts.values():
            build(host, ctx)  # warm the page cache and Python's imports; not reported
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in hosts}
        for i in range(args.runs):  # alternated: A B A B, the same context for both
            for name, host in hosts.items():
                times[name].append(one_round(host, ctx, i + 1))
        med = {name: [statistics.median(t[k] for t in rows) for k in range(3)]
               for name, rows in times.items()}
        print(f"10-step build, COPY of 2,000 files / 20 MB; median of {args.runs}, alternated (seconds)")
        print(f"{'engine':10} {'cold':>8} {'cached':>8} {'1 changed':>10}")
        for name, (cold, cached, changed) in med.items():
            print(f"{name:10} {cold:8.2f} {cached:8.2f} {changed:10.2f}")
        if "dockerd" in med:
            r = [a / b for a, b in zip(med["dockyard"], med["dockerd"])]
            print(f"{'ratio':10} {r[0]:7.2f}x {r[1]:7.2f}x {r[2]:9.2f}x  (dockyard / dockerd classic builder)")
        before = du(d.data_root)
        for i in range(10):
            (ctx / "files" / "d01" / f"f{i + 1:04d}.bin").write_bytes(os.urandom(10 * 1024))
            build(d.host, ctx)
        print(f"dockyard data root after 10 one-file rebuilds: {du(d.data_root) / 1e6:.1f} MB "
              f"(+{(du(d.data_root) - before) / 1e6:.1f} MB)")
    finally:
        if oracle is not None:
            oracle.cleanup()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
