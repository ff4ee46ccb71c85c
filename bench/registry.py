#!/usr/bin/env python3
"""Registry server throughput: blob PUT and GET (MB/s) and HEAD manifest (req/s, one and four
connections) for `dockyard registry` beside Debian's `docker-registry`, on 127.0.0.1.

Usage: python3 bench/registry.py [--runs 5] [--size-mb 256] [--heads 3000]

Both servers run on loopback with filesystem storage in a temp dir, are started here and
stopped by pid. Runs alternate between the servers; the table shows medians. Every response's
status is checked (a failing request is a fast request). Never passes or fails on time.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/v2/")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not come up")


class Server:
    def __init__(self, name: str, argv: list[str], port: int, log: Path) -> None:
        self.name, self.port = name, port
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(port, self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def start_dockyard(tmp: Path) -> Server:
    port = free_port()
    return Server("dockyard registry", [sys.executable, "-m", "dockyard.registry.cli", "serve", "--listen",
                                        f"127.0.0.1:{port}", "--root", str(tmp / "dockyard"), "--log-level", "warning"],
                  port, tmp / "dockyard.log")


def start_distribution(tmp: Path) -> Server | None:
    binary = shutil.which("docker-registry")
    if binary is None:
        return None
    port = free_port()
    config = tmp / "distribution.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "distribution")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    return Server("docker-registry", [binary, "serve", str(config)], port, tmp / "distribution.log")


def put_blob(port: int, data: bytes) -> tuple[str, float]:
    """POST + PUT of one blob; returns (digest, seconds)."""
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    start = time.perf_counter()
    c.request("POST", "/v2/bench/blobs/uploads/", headers={"Content-Length": "0"})
    r = c.getresponse()
    r.read()
    assert r.status == 202, r.status
    location = r.getheader("Location") or ""
    if location.startswith("http"):
        location = "/" + location.split("/", 3)[3]
    sep = "&" if "?" in location else "?"
    c.request("PUT", f"{location}{sep}digest={d}", body=data,
              headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))})
    r = c.getresponse()
    r.read()
    elapsed = time.perf_counter() - start
    assert r.status == 201, (r.status, r.getheader("Content-Type"))
    c.close()
    return d, elapsed


def get_blob(port: int, digest: str, size: int) -> float:
    """A raw socket GET that reads into one buffer: the client costs little next to the server."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    buf = bytearray(4 * 1024 * 1024)
    view = memoryview(buf)
    start = time.perf_counter()
    s.sendall(f"GET /v2/bench/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(65536)
    header, _, rest = head.partition(b"\r\n\r\n")
    assert header.startswith(b"HTTP/1.1 200"), header[:100]
    got = len(rest)
    while got < size:
        n = s.recv_into(view)
        if not n:
            raise RuntimeError("short read")
        got += n
    elapsed = time.perf_counter() - start
    s.close()
    return elapsed


def push_manifest(port: int) -> str:
    config = b'{"architecture":"amd64","os":"linux"}'
    cd, _ = put_blob(port, config)
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                               "size": len(config)}, "layers": []}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("PUT", "/v2/bench/manifests/latest", body=m, headers={"Content-Type": OCI_MANIFEST})
    r = c.getresponse()
    r.read()
    assert r.status == 201, r.status
    return "latest"


def head_loop(port: int, count: int) -> float:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.perf_counter()
    for _ in range(count):
        c.request("HEAD", "/v2/bench/manifests/latest", headers={"Accept": OCI_MANIFEST})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"HEAD answered {r.status}")
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed


def _head_worker(args: tuple[int, int]) -> float:
    return head_loop(*args)


def heads_per_second(port: int, count: int, connections: int, pool: multiprocessing.pool.Pool) -> float:
    if connections == 1:
        return count / head_loop(port, count)
    per = count // connections
    start = time.perf_counter()
    pool.map(_head_worker, [(port, per)] * connections)
    return per * connections / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mb", type=int, default=256)
    ap.add_argument("--heads", type=int, default=3000, help="HEAD requests per run")
    args = ap.parse_args()
    os.chdir(REPO)
    tmp = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    servers: list[Server] = []
    try:
        servers.append(start_dockyard(tmp))
        peer = start_distribution(tmp)
        if peer is None:
            print("docker-registry not installed (apt-get install docker-registry): measuring Dockyard alone")
        else:
            servers.append(peer)
        size = args.size_mb * 1024 * 1024
        base = bytearray(os.urandom(size))
        results: dict[str, dict[str, list[float]]] = {s.name: {"put": [], "get": [], "head1": [], "head4": []}
                                                       for s in servers}
        for s in servers:
            push_manifest(s.port)
        with multiprocessing.Pool(4) as pool:
            for run in range(args.runs):
                base[:8] = run.to_bytes(8, "big")  # a new blob each run: no dedup
                data = bytes(base)
                for s in servers:
                    digest, t = put_blob(s.port, data)
                    results[s.name]["put"].append(size / t / 1e6)
                    results[s.name]["get"].append(size / get_blob(s.port, digest, size) / 1e6)
                    results[s.name]["head1"].append(heads_per_second(s.port, args.heads, 1, pool))
                    results[s.name]["head4"].append(heads_per_second(s.port, args.heads, 4, pool))
        for s in servers:
            if s.proc.poll() is not None:
                raise RuntimeError(f"{s.name} exited during the benchmark")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [("blob PUT (MB/s)", "put"), ("blob GET (MB/s)", "get"),
            ("HEAD manifest, 1 conn (req/s)", "head1"), ("HEAD manifest, 4 conns (req/s)", "head4")]
    names = [s.name for s in servers]
    print(f"\nmedian of {args.runs} runs, {args.size_mb} MiB blob, {args.heads} HEADs per run, 127.0.0.1\n")
    header = f"{'':32}" + "".join(f"{n:>20}" for n in names) + ("         ratio" if len(names) == 2 else "")
    print(header)
    for label, key in rows:
        medians = [statistics.median(results[n][key]) for n in names]
        line = f"{label:32}" + "".join(f"{m:>20,.0f}" for m in medians)
        if len(medians) == 2 and medians[1]:
            line += f"{medians[0] / medians[1]:>13.2f}x"
        print(line)


if __name__ == "__main__":
    main()
