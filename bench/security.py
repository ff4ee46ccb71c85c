#!/usr/bin/env python3
"""The cost of the default seccomp profile: `docker run --rm busybox true` with the default
profile vs `--security-opt seccomp=unconfined`, median of N each, alternating, per runtime.

Usage (root): python3 bench/security.py [--runs 20] [--runtime builtin --runtime runc]

Prints figures; never passes or fails on time. Every run's exit code is checked.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.daemon import TestDaemon, import_busybox  # noqa: E402

VARIANTS = {"default seccomp": [], "seccomp=unconfined": ["--security-opt", "seccomp=unconfined"]}


def one(d: TestDaemon, extra: list[str]) -> float:
    t = time.perf_counter()
    r = d.docker("run", "--rm", *extra, "busybox", "true")
    took = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"run failed ({r.returncode}): {r.stderr.decode().strip()}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--runtime", action="append")
    args = ap.parse_args()
    runtimes = args.runtime or ["builtin"] + (["runc"] if shutil.which("runc") else [])
    print(f"{'runtime':10} {'variant':22} {'median ms':>10} {'min ms':>8}   (docker run --rm true, n={args.runs})")
    for runtime in runtimes:
        d = TestDaemon(runtime=runtime)
        try:
            d.start()
            import_busybox(d)
            for extra in VARIANTS.values():
                one(d, extra)  # warm-up
            times: dict[str, list[float]] = {k: [] for k in VARIANTS}
            for _ in range(args.runs):
                for name, extra in VARIANTS.items():  # alternate: these VMs drift over time
                    times[name].append(one(d, extra))
            for name, ts in times.items():
                print(f"{runtime:10} {name:22} {statistics.median(ts) * 1000:10.1f} {min(ts) * 1000:8.1f}")
        finally:
            d.cleanup()


if __name__ == "__main__":
    main()
