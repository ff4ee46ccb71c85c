#!/usr/bin/env python3
"""exec latency, attach round-trip, `run --rm true` per runtime, and stats overhead with many containers.

Usage (root): python3 bench/exec.py [--runs 20] [--containers 50]

Prints figures; never passes or fails on time. Every run's exit code is checked: a failing run is a
fast run, and would make the figures lie.
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402
from tests.support.rawhttp import call  # noqa: E402


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.1f} ms (min {min(samples) * 1000:.1f}, n={len(samples)})"


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def exec_api(d: TestDaemon, name: str) -> None:
    """`exec c true` through the API as the docker CLI does it: create, start (hijacked), inspect."""
    st, body, _ = call(d, "POST", f"/v1.41/containers/{name}/exec", {"Cmd": ["true"], "AttachStdout": True,
                                                                      "AttachStderr": True})
    assert st == 201, body
    eid = json.loads(body)["Id"]
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.socket)
    payload = b'{"Detach":false,"Tty":false}'
    s.sendall(f"POST /v1.41/exec/{eid}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    while s.recv(65536):
        pass
    s.close()
    st, body, _ = call(d, "GET", f"/v1.41/exec/{eid}/json")
    assert json.loads(body)["ExitCode"] == 0, body


def attach_round_trip(d: TestDaemon, name: str, runs: int) -> list[float]:
    """A byte written to an attached `cat` until it comes back."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.socket)
    s.sendall(f"POST /v1.41/containers/{name}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\n"
              "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    out = []
    for i in range(runs):
        t = time.perf_counter()
        s.sendall(b"x\n")
        got = b""
        while not got.endswith(b"x\n"):
            got += s.recv(65536)
        out.append(time.perf_counter() - t)
    s.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--containers", type=int, default=50)
    a = ap.parse_args()
    d = TestDaemon()
    try:
        d.start()
        import_busybox(d)
        d.docker("run", "-d", "--name", "bx", "busybox", "sleep", "600", check=True)
        for _ in range(3):
            exec_api(d, "bx")
        print(f"exec c true, API (create+start+inspect): {median_ms(timed(lambda: exec_api(d, 'bx'), a.runs))}")

        def cli() -> None:
            assert d.docker("exec", "bx", "true").returncode == 0
        print(f"exec c true, docker CLI:                 {median_ms(timed(cli, a.runs))}")
        if shutil.which("runc"):
            d.docker("run", "-d", "--runtime", "runc", "--name", "bxr", "busybox", "sleep", "600", check=True)

            def cli_runc() -> None:
                assert d.docker("exec", "bxr", "true").returncode == 0
            print(f"exec c true, docker CLI, runc container: {median_ms(timed(cli_runc, a.runs))}")
        d.docker("run", "-d", "-i", "--name", "cat", "busybox", "cat", check=True)
        print(f"attach round-trip (1 line through cat):  {median_ms(attach_round_trip(d, 'cat', a.runs))}")
        d.docker("rm", "-f", "bx", "bxr", "cat")

        info = json.loads(d.docker("info", "--format", "{{json .Runtimes}}").stdout)
        for runtime in ("builtin", "runc", "crun"):
            if runtime not in info:
                continue
            probe = d.docker("run", "--rm", "--runtime", runtime, "busybox", "true")
            if probe.returncode != 0:
                print(f"run --rm true, {runtime:8}: does not work here ({probe.stderr.decode().strip()[:90]})")
                continue

            def run(rt: str = runtime) -> None:
                assert d.docker("run", "--rm", "--runtime", rt, "busybox", "true").returncode == 0
            print(f"run --rm true, {runtime:8}:               {median_ms(timed(run, a.runs))}")

        names = [f"s{i}" for i in range(a.containers)]
        for n in names:
            d.docker("run", "-d", "--name", n, "busybox", "sleep", "600", check=True)
        one = timed(lambda: call(d, "GET", "/v1.41/containers/s0/stats?stream=false&one-shot=true"), a.runs)
        print(f"stats one-shot, 1 of {a.containers} running:        {median_ms(one)}")

        def all_stats() -> None:
            for n in names:
                st, _, _ = call(d, "GET", f"/v1.41/containers/{n}/stats?stream=false&one-shot=true")
                assert st == 200
        sweep = timed(all_stats, 3)
        print(f"stats one-shot of all {a.containers}:               {median_ms(sweep)}")
        pid = d.proc.pid if d.proc else 0
        t0 = _cpu_seconds(pid)
        streams = [subprocess.Popen(["docker", "stats", "--format", "{{.Name}}", n], env=d.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for n in names]
        time.sleep(10)
        t1 = _cpu_seconds(pid)
        for p in streams:
            p.kill()
            p.wait()
        print(f"daemon CPU with {a.containers} streaming stats (1/s each): {(t1 - t0) / 10 * 100:.1f}% of one core")
    finally:
        d.cleanup()


def _cpu_seconds(pid: int) -> float:
    import os
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
