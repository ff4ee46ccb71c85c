"""`stats`, `diff` and `update`: a running container's usage, its file-system changes, its limits."""
from __future__ import annotations

import sys
from typing import Any

import click

from dockyard.cli.client import CLIError, iter_json_stream
from dockyard.cli.commands.common import for_each, get_client
from dockyard.cli.humanize import human_size
from dockyard.cli.tabwriter import tabulate

HEADER = "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS"


def _bin(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1024
    return f"{n}B"


def row(s: dict[str, Any]) -> str:
    """docker's columns: CPU % from the delta against precpu_stats, memory without the page cache."""
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    d_cpu = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    d_sys = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    pct = d_cpu / d_sys * (cpu.get("online_cpus") or 1) * 100 if d_sys > 0 and d_cpu > 0 else 0.0
    mem = s.get("memory_stats") or {}
    usage = max(0, mem.get("usage", 0) - (mem.get("stats") or {}).get("inactive_file", 0))
    limit = mem.get("limit", 0)
    nets = s.get("networks") or {}
    rx, tx = sum(n.get("rx_bytes", 0) for n in nets.values()), sum(n.get("tx_bytes", 0) for n in nets.values())
    blk = (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    rd = sum(b["value"] for b in blk if b.get("op", "").lower() == "read")
    wr = sum(b["value"] for b in blk if b.get("op", "").lower() == "write")
    return "\t".join([s.get("id", "")[:12], s.get("name", "").lstrip("/"), f"{pct:.2f}%",
                      f"{_bin(usage)} / {_bin(limit)}", f"{usage / limit * 100 if limit else 0:.2f}%",
                      f"{human_size(rx)} / {human_size(tx)}", f"{human_size(rd)} / {human_size(wr)}",
                      str((s.get("pids_stats") or {}).get("current", 0))])


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the first result")
@click.argument("containers", nargs=-1)
def stats(all_: bool, no_stream: bool, containers: tuple[str, ...]) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    client = get_client()
    names = list(containers) or [c["Id"] for c in client.get("/containers/json", {"all": int(all_)}) or []]
    if no_stream:
        rows = [row(client.get(f"/containers/{n}/stats", {"stream": 0})) for n in names]
        sys.stdout.write(tabulate("\n".join([HEADER, *rows]) + "\n", minwidth=2, padding=3))
        return
    if len(names) != 1:
        raise CLIError("streaming stats of several containers is not supported yet: use --no-stream")
    resp = client.request("GET", f"/containers/{names[0]}/stats", {"stream": 1})
    try:
        for s in iter_json_stream(resp):
            sys.stdout.write("\033[2J\033[H" if sys.stdout.isatty() else "")
            sys.stdout.write(tabulate(HEADER + "\n" + row(s) + "\n", minwidth=2, padding=3))
            sys.stdout.flush()
    finally:
        resp.close()


@click.command()
@click.argument("container")
def diff(container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    for c in get_client().get(f"/containers/{container}/changes") or []:
        click.echo(f"{'CAD'[c['Kind']]} {c['Path']}")


def _bytes(value: str | None) -> int | None:
    if value is None:
        return None
    if value == "-1":
        return -1
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    v = value.lower().rstrip("b") if value.lower()[-1:] == "b" and value[-2:-1].isalpha() else value.lower()
    try:
        return int(float(v[:-1]) * units[v[-1]]) if v[-1] in units else int(v)
    except (ValueError, KeyError):
        raise CLIError(f"invalid size: '{value}'") from None


@click.command()
@click.option("-m", "--memory", help="Memory limit")
@click.option("--memory-swap", help="Swap limit equal to memory plus swap: -1 to enable unlimited swap")
@click.option("--memory-reservation", help="Memory soft limit")
@click.option("--cpus", type=float, help="Number of CPUs")
@click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
@click.option("--cpu-period", type=int, help="Limit CPU CFS period")
@click.option("--cpu-quota", type=int, help="Limit CPU CFS quota")
@click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
@click.option("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)")
@click.option("--blkio-weight", type=int, help="Block IO (relative weight), between 10 and 1000")
@click.option("--restart", help="Restart policy to apply when a container exits")
@click.argument("containers", nargs=-1, required=True)
def update(memory: str | None, memory_swap: str | None, memory_reservation: str | None, cpus: float | None,
           cpu_shares: int | None, cpu_period: int | None, cpu_quota: int | None, cpuset_cpus: str | None,
           pids_limit: int | None, blkio_weight: int | None, restart: str | None,
           containers: tuple[str, ...]) -> None:
    """Update configuration of one or more containers."""
    body: dict[str, Any] = {k: v for k, v in {
        "Memory": _bytes(memory), "MemorySwap": _bytes(memory_swap),
        "MemoryReservation": _bytes(memory_reservation),
        "NanoCpus": int(cpus * 1e9) if cpus is not None else None, "CpuShares": cpu_shares,
        "CpuPeriod": cpu_period, "CpuQuota": cpu_quota, "CpusetCpus": cpuset_cpus, "PidsLimit": pids_limit,
        "BlkioWeight": blkio_weight}.items() if v is not None}
    if restart:
        name, _, count = restart.partition(":")
        body["RestartPolicy"] = {"Name": name, "MaximumRetryCount": int(count or 0)}
    client = get_client()
    for_each(containers, lambda c: client.post(f"/containers/{c}/update", None, body) and None)


COMMANDS = [stats, diff, update]
