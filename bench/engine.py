#!/usr/bin/env python3
"""Start latency, throughput, memory and CLI cost of Dockyard, beside Docker/Podman if one runs.

Usage (root): python3 bench/engine.py [--runs 25] [--peer unix:///var/run/docker.sock]

Prints a table; never passes or fails on time. Every run's exit code is checked: a failing
run is a fast run, and would make the figures lie.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


class Api:
    """A minimal Engine API client: the benchmark measures the engine, not docker-py."""

    def __init__(self, host: str) -> None:
        self.path = host[len("unix://"):]

    def call(self, method: str, url: str, body: object | None = None) -> tuple[int, bytes]:
        conn = UnixConnection(self.path)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, "/v1.41" + url, body=data, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def ok(self, method: str, url: str, body: object | None = None) -> bytes:
        status, data = self.call(method, url, body)
        if status >= 300:
            raise RuntimeError(f"{method} {url}: {status} {data[:200]!r}")
        return data

    def run_rm(self, cmd: list[str], network: str | None = None) -> None:
        """`docker run --rm busybox CMD`: create with AutoRemove, start, wait until removed."""
        host = {"AutoRemove": True, **({"NetworkMode": network} if network else {})}
        cid = json.loads(self.ok("POST", "/containers/create", {"Image": "busybox", "Cmd": cmd,
                                                                "HostConfig": host}))["Id"]
        with ThreadPoolExecutor(1) as pool:
            waiter = pool.submit(self.ok, "POST", f"/containers/{cid}/wait?condition=removed")
            time.sleep(0.002)  # the CLI also subscribes before it starts
            self.ok("POST", f"/containers/{cid}/start")
            code = json.loads(waiter.result())["StatusCode"]
        if code != 0:
            raise RuntimeError(f"container exited {code}")

    def lifecycle(self, cmd: list[str], network: str | None = None) -> None:
        host = {"NetworkMode": network} if network else {}
        cid = json.loads(self.ok("POST", "/containers/create", {"Image": "busybox", "Cmd": cmd,
                                                                "HostConfig": host}))["Id"]
        self.ok("POST", f"/containers/{cid}/start")
        code = json.loads(self.ok("POST", f"/containers/{cid}/wait"))["StatusCode"]
        self.ok("DELETE", f"/containers/{cid}")
        if code != 0:
            raise RuntimeError(f"container exited {code}")

    def run_detached(self, cmd: list[str], network: str | None = None) -> str:
        host = {"NetworkMode": network} if network else {}
        cid = json.loads(self.ok("POST", "/containers/create", {"Image": "busybox", "Cmd": cmd,
                                                                "HostConfig": host}))["Id"]
        self.ok("POST", f"/containers/{cid}/start")
        return cid


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=10) if len(ms) >= 10 else [min(ms)] * 9
    return f"median {statistics.median(ms):7.1f} ms  p10 {q[0]:6.1f}  p90 {q[-1]:6.1f}  (n={len(ms)})"


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def throughput(api: Api, n: int, parallel: int) -> float:
    ids: list[str] = []
    t = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        ids = list(pool.map(lambda _: api.run_detached(["sleep", "600"], "none"), range(n)))
    rate = n / (time.perf_counter() - t)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda cid: api.ok("DELETE", f"/containers/{cid}?force=1"), ids))
    return rate


def cli_cost(env: dict[str, str], argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(argv, env=env, capture_output=True)
        out.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0:
            raise RuntimeError(f"{argv}: {r.stderr.decode()[:200]}")
    return out


def bench_engine(name: str, api: Api, runs: int) -> dict[str, object]:
    res: dict[str, object] = {}
    api.run_rm(["true"], "none")  # warm caches
    res["run --rm true (--network none)"] = timed(lambda: api.run_rm(["true"], "none"), runs)
    res["run --rm true (default network)"] = timed(lambda: api.run_rm(["true"]), runs)
    res["create+start+wait+rm"] = timed(lambda: api.lifecycle(["true"], "none"), runs)
    res["containers/s, 30 sequential"] = throughput(api, 30, 1)
    res["containers/s, 30 four at a time"] = throughput(api, 30, 4)
    return res


def memory(d: TestDaemon, api: Api, n: int = 10) -> dict[str, float]:
    daemon_pid = d.proc.pid
    sup = d.supervisor_pid() or 0
    time.sleep(0.5)
    before = pss_kb(daemon_pid) + pss_kb(sup)
    idle_rss = rss_kb(daemon_pid)
    ids = [api.run_detached(["sleep", "600"], "none") for _ in range(n)]
    time.sleep(1.0)
    after = pss_kb(daemon_pid) + pss_kb(sup)
    for cid in ids:
        api.ok("DELETE", f"/containers/{cid}?force=1")
    return {"daemon idle RSS (MB)": idle_rss / 1024,
            "supervisor RSS (MB)": (rss_kb(sup) / 1024) if sup else 0.0,
            "added PSS per idle container (MB)": (after - before) / n / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--peer", default="unix:///var/run/docker.sock",
                    help="a Docker-compatible daemon to run the same workload on, if it answers")
    args = ap.parse_args()
    d = TestDaemon()
    try:
        d.start()
        import_busybox(d)
        api = Api(d.host)
        print(f"Dockyard ({args.runs} runs each)")
        for k, v in memory(d, api).items():
            print(f"  {k:38s} {v:8.2f}")
        ours = bench_engine("dockyard", api, args.runs)
        peer = None
        peer_sock = args.peer[len("unix://"):]
        if os.path.exists(peer_sock):
            try:
                peer = bench_engine("peer", Api(args.peer), args.runs)
            except Exception as e:  # a peer without busybox or not answering: say so, go on
                print(f"  (peer at {args.peer} not measured: {e})")
        for k, v in ours.items():
            line = f"  {k:38s} "
            if isinstance(v, list):
                line += summary(v)
                if peer:
                    line += f"   peer median {statistics.median(peer[k]):6.1f} ms, ratio x{statistics.median(peer[k]) / statistics.median(v):.2f}"
            else:
                line += f"{v:8.1f} /s"
                if peer:
                    line += f"   peer {peer[k]:.1f}/s, ratio x{v / peer[k]:.2f}"
            print(line)
        print("CLI wall time (20 runs each, same daemon)")
        env = d.env
        for argv in (["dockyard", "version"], ["dockyard", "ps"], ["docker", "version"], ["docker", "ps"]):
            try:
                print(f"  {' '.join(argv):38s} {summary(cli_cost(env, argv, 20))}")
            except (RuntimeError, FileNotFoundError) as e:
                print(f"  {' '.join(argv):38s} not measured: {e}")
    finally:
        d.cleanup()


if __name__ == "__main__":
    main()
