"""A NetworkDriver (remote) plugin: a Linux bridge per network holding the gateway address, and a
veth pair per endpoint whose host end joins the bridge; Join hands the daemon the other end
(SrcName) to move into the container. Every link it makes starts with --prefix (tests clean up by it)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from base import Refused, arguments, serve  # noqa: E402 - a script beside its helper


def ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise Refused(f"ip {' '.join(args)}: {r.stderr.strip()}")


class Veths:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.networks: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, str] = {}  # endpoint -> network
        self.lock = threading.Lock()

    def _bridge(self, network_id: str) -> str:
        return f"{self.prefix}b{network_id[:6]}"

    def _host_end(self, endpoint_id: str) -> str:
        return f"{self.prefix}h{endpoint_id[:6]}"

    def _container_end(self, endpoint_id: str) -> str:
        return f"{self.prefix}c{endpoint_id[:6]}"

    def activate(self, _: dict[str, Any]) -> Any:
        return {"Implements": ["NetworkDriver"]}

    def capabilities(self, _: dict[str, Any]) -> Any:
        return {"Scope": "local", "ConnectivityScope": "local"}

    def create_network(self, req: dict[str, Any]) -> Any:
        nid = req["NetworkID"]
        with self.lock:
            if nid in self.networks:
                return {}
            bridge = self._bridge(nid)
            ip("link", "add", bridge, "type", "bridge")
            for v4 in req.get("IPv4Data") or []:
                if v4.get("Gateway"):
                    ip("addr", "add", v4["Gateway"], "dev", bridge)
            ip("link", "set", bridge, "up")
            self.networks[nid] = {"options": req.get("Options"), "gateway": [
                v4["Gateway"].split("/")[0] for v4 in req.get("IPv4Data") or [] if v4.get("Gateway")]}
        return {}

    def delete_network(self, req: dict[str, Any]) -> Any:
        with self.lock:
            if self.networks.pop(req["NetworkID"], None) is None:
                raise Refused(f"no such network: {req['NetworkID']}")
            ip("link", "del", self._bridge(req["NetworkID"]))
        return {}

    def create_endpoint(self, req: dict[str, Any]) -> Any:
        with self.lock:
            if req["NetworkID"] not in self.networks:
                raise Refused(f"no such network: {req['NetworkID']}")
            self.endpoints[req["EndpointID"]] = req["NetworkID"]
        return {}  # the daemon gave the address and MAC: the plugin must not answer its own

    def join(self, req: dict[str, Any]) -> Any:
        eid, nid = req["EndpointID"], req["NetworkID"]
        host, peer = self._host_end(eid), self._container_end(eid)
        ip("link", "add", host, "type", "veth", "peer", "name", peer)
        ip("link", "set", host, "master", self._bridge(nid), "up")
        gateway = (self.networks.get(nid) or {}).get("gateway") or [""]
        return {"InterfaceName": {"SrcName": peer, "DstPrefix": "eth"}, "Gateway": gateway[0]}

    def leave(self, req: dict[str, Any]) -> Any:
        ip("link", "del", self._host_end(req["EndpointID"]))  # takes the peer with it
        return {}

    def delete_endpoint(self, req: dict[str, Any]) -> Any:
        with self.lock:
            self.endpoints.pop(req["EndpointID"], None)
        return {}

    def oper_info(self, req: dict[str, Any]) -> Any:
        return {"Value": {"network": self.endpoints.get(req.get("EndpointID", ""), "")}}

    def nothing(self, _: dict[str, Any]) -> Any:
        return {}


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--prefix", required=True, help="start of every link name it makes")
    args = p.parse_args()
    v = Veths(args.prefix)
    serve(args.socket, {"Plugin.Activate": v.activate, "NetworkDriver.GetCapabilities": v.capabilities,
                        "NetworkDriver.CreateNetwork": v.create_network,
                        "NetworkDriver.DeleteNetwork": v.delete_network,
                        "NetworkDriver.CreateEndpoint": v.create_endpoint,
                        "NetworkDriver.DeleteEndpoint": v.delete_endpoint,
                        "NetworkDriver.Join": v.join, "NetworkDriver.Leave": v.leave,
                        "NetworkDriver.EndpointOperInfo": v.oper_info,
                        "NetworkDriver.DiscoverNew": v.nothing, "NetworkDriver.DiscoverDelete": v.nothing,
                        "NetworkDriver.ProgramExternalConnectivity": v.nothing,
                        "NetworkDriver.RevokeExternalConnectivity": v.nothing}, args.calls_log)


if __name__ == "__main__":
    main()
