#!/usr/bin/env python3
"""Compose: `up -d` of a 10-service project (busybox services on one network, one volume each,
healthchecks), `up -d` again with nothing changed, and `down -v`, for `dockyard compose` and
docker-compose 1.29, each against dockyardd and against a scratch dockerd where one is installed.

Usage (root): python3 bench/compose.py [--runs 3] [--no-dockerd]

Prints figures (median seconds); never passes or fails on time. Every command's exit status is
checked, and runs of the engines alternate (these VMs slow down over a session).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.compose import Compose, ScratchDockerd  # noqa: E402
from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402

SERVICES = 10


def project_text() -> str:
    lines = ["services:"]
    for n in range(SERVICES):
        lines += [f"  s{n}:", "    image: busybox", "    command: sh -c 'trap \"exit 0\" TERM; while true; do sleep 1; done'",
                  "    networks: [app]", f"    volumes: [v{n}:/data]",
                  "    healthcheck: {test: [CMD, 'true'], interval: 1s}", "    stop_grace_period: 1s"]
    lines += ["networks:", "  app: {}", "volumes:"] + [f"  v{n}: {{}}" for n in range(SERVICES)]
    return "\n".join(lines) + "\n"


def timed(c: Compose, *args: str) -> float:
    t = time.perf_counter()
    r = c(*args, timeout=300)
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {r.stderr.decode()[-2000:]}")
    return took


def one_round(c: Compose) -> tuple[float, float, float]:
    up = timed(c, "up", "-d")
    again = timed(c, "up", "-d")
    n = len([line for line in c("ps", "-q").stdout.splitlines() if line.strip()])
    if n != SERVICES:
        raise SystemExit(f"expected {SERVICES} running containers, found {n}")
    down = timed(c, "down", "-v", "-t", "1")
    return up, again, down


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-dockerd", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dytest-benchcompose-"))
    (work / "bench").mkdir()
    (work / "bench" / "compose.yaml").write_text(project_text())
    ours = TestDaemon()
    dockerd = ScratchDockerd() if shutil.which("dockerd") and not args.no_dockerd else None
    try:
        ours.start()
        import_busybox(ours)
        engines = [("dockyardd", ours.host)]
        if dockerd:
            dockerd.start()
            engines.append(("dockerd", dockerd.host))
        clients = [("dockyard compose", False)] + ([("docker-compose 1.29", True)] if shutil.which("docker-compose") else [])
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for _ in range(args.runs):
            for client, v1 in clients:
                for engine, host in engines:
                    c = Compose(host, work / "bench", {}, v1=v1)
                    results.setdefault((client, engine), []).append(one_round(c))
        print(f"compose, {SERVICES} services (one network, a volume and a healthcheck each), "
              f"median of {args.runs} runs, seconds")
        print(f"{'client':<22}{'engine':<12}{'up -d':>8}{'up again':>10}{'down -v':>9}")
        for (client, engine), runs in results.items():
            up, again, down = (statistics.median(x) for x in zip(*runs))
            print(f"{client:<22}{engine:<12}{up:>8.2f}{again:>10.2f}{down:>9.2f}")
    finally:
        ours.cleanup()
        if dockerd:
            dockerd.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
