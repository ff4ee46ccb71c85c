#!/usr/bin/env python3
"""The cost of networking: start time on a bridge with one published port vs --network none, and
HTTP throughput through a published port on loopback (the userland proxy) and on the host's own
address (the kernel's DNAT). Beside Docker when a dockerd answers (--peer).

Usage (root): python3 bench/network.py [--runs 15] [--seconds 3] [--peer unix:///var/run/docker.sock]

Prints figures; never passes or fails on time. Every run's exit status is checked.
"""
from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402


def _docker(host: str, *args: str) -> str:
    r = subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_times(host: str, runs: int, network: list[str]) -> list[float]:
    """create+start+wait of `true` through the CLI, removing each container after."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        _docker(host, "run", "--rm", *network, "busybox", "true")
        out.append(time.perf_counter() - t)
    return out


def http_throughput(addr: str, port: int, seconds: float) -> tuple[int, float]:
    """Requests per second over one keep-alive connection, and new connections per second."""
    deadline = time.time() + seconds
    n = 0
    conn = http.client.HTTPConnection(addr, port, timeout=10)
    while time.time() < deadline:
        conn.request("GET", "/index.html")
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}")
        n += 1
    conn.close()
    deadline = time.time() + seconds
    c = 0
    while time.time() < deadline:
        conn = http.client.HTTPConnection(addr, port, timeout=10)
        conn.request("GET", "/index.html", headers={"Connection": "close"})
        conn.getresponse().read()
        conn.close()
        c += 1
    return n, c / seconds


def _host_address() -> str | None:
    out = subprocess.run(["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True, text=True).stdout
    parts = out.split()
    return parts[parts.index("src") + 1] if "src" in parts else None


def measure(name: str, host: str, runs: int, seconds: float) -> None:
    none = start_times(host, runs, ["--network", "none"])
    bridge = start_times(host, runs, ["-p", f"{_free_port()}:80"])
    med = statistics.median
    print(f"{name}: start --network none   median {med(none) * 1000:7.1f} ms")
    print(f"{name}: start bridge + 1 port  median {med(bridge) * 1000:7.1f} ms  "
          f"(networking costs {(med(bridge) - med(none)) * 1000:+.1f} ms)")
    port = _free_port()
    cid = _docker(host, "run", "-d", "-p", f"{port}:80", "busybox", "sh", "-c",
                  "mkdir -p /w && echo ok > /w/index.html && exec httpd -f -p 80 -h /w")
    try:
        time.sleep(0.3)
        for label, addr in (("loopback (userland proxy)", "127.0.0.1"), ("host address (DNAT)", _host_address())):
            if addr is None:
                continue
            reqs, conns = http_throughput(addr, port, seconds)
            print(f"{name}: HTTP via {label:26s} {reqs / seconds:8.0f} req/s keep-alive, "
                  f"{conns:6.0f} connections/s")
    finally:
        _docker(host, "rm", "-f", cid)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--peer", default="unix:///var/run/docker.sock")
    args = p.parse_args()
    d = TestDaemon()
    try:
        d.start()
        import_busybox(d)
        measure("dockyard", d.host, args.runs, args.seconds)
    finally:
        d.cleanup()
    peer_sock = args.peer[len("unix://"):]
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(peer_sock)
        s.close()
    except OSError:
        print(f"docker: no dockerd answers at {args.peer}; no side-by-side figures")
        return
    measure("docker", args.peer, args.runs, args.seconds)


if __name__ == "__main__":
    main()
