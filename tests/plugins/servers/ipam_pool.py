"""An IpamDriver plugin: pools carved in order from --base (as /--size), or the pool asked for;
addresses lowest free first; the gateway is the pool's first address, given in RequestPool's Data."""
from __future__ import annotations

import ipaddress
import os
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from base import Refused, arguments, serve  # noqa: E402 - a script beside its helper

GATEWAY = "com.docker.network.gateway"


class Pools:
    def __init__(self, base: str, size: int) -> None:
        self.base = ipaddress.IPv4Network(base)
        self.size = size
        self.pools: dict[str, ipaddress.IPv4Network] = {}       # PoolID -> pool
        self.used: dict[str, set[ipaddress.IPv4Address]] = {}    # PoolID -> addresses handed out
        self.lock = threading.Lock()

    def activate(self, _: dict[str, Any]) -> Any:
        return {"Implements": ["IpamDriver"]}

    def capabilities(self, _: dict[str, Any]) -> Any:
        return {"RequiresMACAddress": False, "RequiresRequestReplay": False}

    def spaces(self, _: dict[str, Any]) -> Any:
        return {"LocalDefaultAddressSpace": "dyt-local", "GlobalDefaultAddressSpace": "dyt-global"}

    def request_pool(self, req: dict[str, Any]) -> Any:
        with self.lock:
            if req.get("Pool"):
                pool = ipaddress.IPv4Network(req["Pool"], strict=False)
                if any(pool.overlaps(p) for p in self.pools.values()):
                    raise Refused(f"pool {pool} overlaps a pool in use")
            else:
                pool = next((c for c in self.base.subnets(new_prefix=self.size)
                             if not any(c.overlaps(p) for p in self.pools.values())), None)
                if pool is None:
                    raise Refused(f"no pool left in {self.base}")
            pool_id = f"dyt-pool-{pool}"
            gateway = pool.network_address + 1
            self.pools[pool_id] = pool
            self.used[pool_id] = {gateway}
            return {"PoolID": pool_id, "Pool": str(pool), "Data": {GATEWAY: f"{gateway}/{pool.prefixlen}"}}

    def release_pool(self, req: dict[str, Any]) -> Any:
        with self.lock:
            if req.get("PoolID") not in self.pools:
                raise Refused(f"no such pool: {req.get('PoolID')}")
            del self.pools[req["PoolID"]]
            del self.used[req["PoolID"]]
        return {}

    def request_address(self, req: dict[str, Any]) -> Any:
        with self.lock:
            pool_id = req.get("PoolID")
            if pool_id not in self.pools:
                raise Refused(f"no such pool: {pool_id}")
            pool, used = self.pools[pool_id], self.used[pool_id]
            if req.get("Address"):
                addr = ipaddress.IPv4Address(req["Address"])
                if addr in used:
                    raise Refused(f"address {addr} already allocated")
            else:
                addr = next((a for a in pool.hosts() if a not in used), None)
                if addr is None:
                    raise Refused(f"no address left in {pool}")
            used.add(addr)
            return {"Address": f"{addr}/{pool.prefixlen}"}

    def release_address(self, req: dict[str, Any]) -> Any:
        with self.lock:
            self.used.get(req.get("PoolID", ""), set()).discard(ipaddress.IPv4Address(req["Address"]))
        return {}


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--base", default="10.10.0.0/16")
    p.add_argument("--size", type=int, default=24)
    args = p.parse_args()
    v = Pools(args.base, args.size)
    serve(args.socket, {"Plugin.Activate": v.activate, "IpamDriver.GetCapabilities": v.capabilities,
                        "IpamDriver.GetDefaultAddressSpaces": v.spaces,
                        "IpamDriver.RequestPool": v.request_pool, "IpamDriver.ReleasePool": v.release_pool,
                        "IpamDriver.RequestAddress": v.request_address,
                        "IpamDriver.ReleaseAddress": v.release_address}, args.calls_log)


if __name__ == "__main__":
    main()
