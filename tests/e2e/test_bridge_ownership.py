"""Daemons on fresh data roots meeting their bridge already there (issue 14, defect 2): they adopt
its address instead of piling new ones onto it, and a live daemon's names are never shared."""
from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess

import pytest

from tests.support.daemon import TestDaemon, _remove_network_objects, import_busybox

pytestmark = pytest.mark.e2e

STARTS = 4


def _addresses(link: str) -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", link], capture_output=True,
                         text=True).stdout
    return [line.split()[3] for line in out.splitlines()]


def _daemon(prefix: str, pools: list[dict]) -> TestDaemon:
    d = TestDaemon(extra_config={"network-prefix": prefix, "default-address-pools": pools})
    d.net_prefix = prefix
    return d


@pytest.fixture()
def prefix():
    if os.geteuid() != 0:
        pytest.skip("needs root: the daemon makes bridges")
    p = f"dyt{secrets.token_hex(2)}"
    yield p
    _remove_network_objects(p)


def test_fresh_data_roots_reuse_the_bridge_and_its_one_address(prefix):
    # a pool of two /24s: without adoption the third start finds every subnet taken
    base = f"10.{secrets.randbelow(180) + 64}.{secrets.randbelow(120) * 2}.0/23"
    pools = [{"base": base, "size": 24}]
    seen = []
    for i in range(STARTS):
        d = _daemon(prefix, pools)
        try:
            d.start()
            seen.append(_addresses(f"{prefix}0"))
            bridge = json.loads(d.docker("network", "inspect", "bridge", check=True).stdout)[0]
            assert [c["Subnet"] for c in bridge["IPAM"]["Config"]] == [
                str(ipaddress.ip_interface(seen[-1][0]).network)]
            if i == STARTS - 1:  # a container on the adopted bridge gets an address of its subnet
                import_busybox(d)
                out = d.docker("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
                assert out.returncode == 0, out.stderr
                assert bridge["IPAM"]["Config"][0]["Subnet"].rsplit(".", 1)[0] in out.stdout.decode()
        finally:
            d.cleanup(keep_network=True)  # the next daemon finds the bridge this one made
    assert all(len(a) == 1 for a in seen), seen
    assert len({a[0] for a in seen}) == 1, seen


def test_stale_addresses_an_earlier_daemon_left_are_removed(prefix):
    pools = [{"base": f"10.{secrets.randbelow(180) + 64}.0.0/16", "size": 24}]
    d = _daemon(prefix, pools)
    try:
        d.start()
        own = _addresses(f"{prefix}0")
        d.cleanup(keep_network=True)
        net = pools[0]["base"].rsplit(".", 2)[0]
        for third in (7, 8):  # what the old code piled up on each fresh start
            subprocess.run(["ip", "addr", "add", f"{net}.{third}.1/24", "dev", f"{prefix}0"], check=True)
        d = _daemon(prefix, pools)
        d.start()
        assert _addresses(f"{prefix}0") == own
    finally:
        d.cleanup(keep_network=True)


def test_a_second_live_daemon_on_the_same_prefix_is_refused(prefix):
    pools = [{"base": f"10.{secrets.randbelow(180) + 64}.0.0/16", "size": 24}]
    first, second = _daemon(prefix, pools), _daemon(prefix, pools)
    try:
        first.start()
        with pytest.raises(RuntimeError) as e:
            second.start()
        assert f"network-prefix '{prefix}' is in use by another running dockyardd" in str(e.value)
        assert f"(pid {first.proc.pid})" in str(e.value)
        assert len(_addresses(f"{prefix}0")) == 1
        assert first.docker("network", "inspect", "bridge").returncode == 0
    finally:
        second.cleanup(keep_network=True)
        first.cleanup(keep_network=True)
