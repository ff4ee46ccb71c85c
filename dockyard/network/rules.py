"""nftables rules in Dockyard's own table: masquerade, published ports (DNAT), isolation.

The whole table is regenerated and replaced in one atomic nft transaction on every change; the
host's other tables are never flushed. Where a Docker beside us left the iptables FORWARD policy
at DROP, narrow accept rules for our bridges go into its DOCKER-USER chain, tagged with a comment
so that they, and only they, are removed again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..linux.nft import Nft


@dataclass(frozen=True)
class BridgeRules:
    iface: str
    subnet: str
    internal: bool = False
    icc: bool = True
    masquerade: bool = True


@dataclass(frozen=True)
class Forward:
    proto: str          # tcp | udp | sctp
    host_ip: str        # "" = any local address
    host_port: int
    dest_ip: str
    dest_port: int


@dataclass
class Ruleset:
    bridges: list[BridgeRules] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)


def _q(name: str) -> str:
    return json.dumps(name)  # interface names quoted as nft strings


def table_script(table: str, rs: Ruleset) -> str:
    """Replace `ip <table>` atomically (creating it first makes the delete never fail)."""
    lines = [f"table ip {table} {{}}", f"delete table ip {table}", f"table ip {table} {{"]
    lines += ["  chain prerouting {", "    type nat hook prerouting priority -100; policy accept;",
              "    fib daddr type local jump ports", "  }",
              "  chain output {", "    type nat hook output priority -100; policy accept;",
              # loopback goes through the userland proxy: the kernel will not route 127/8 out
              "    ip daddr != 127.0.0.0/8 fib daddr type local jump ports", "  }",
              "  chain ports {"]
    for f in rs.forwards:
        match = f"ip daddr {f.host_ip} " if f.host_ip and f.host_ip != "0.0.0.0" else ""
        lines.append(f"    {match}{f.proto} dport {f.host_port} dnat to {f.dest_ip}:{f.dest_port}")
    lines += ["  }", "  chain postrouting {",
              "    type nat hook postrouting priority 100; policy accept;"]
    for b in rs.bridges:
        if b.masquerade and not b.internal:
            lines.append(f"    ip saddr {b.subnet} oifname != {_q(b.iface)} masquerade")
        # a published port reached from the same bridge: answer through the host
        lines.append(f"    oifname {_q(b.iface)} ip saddr {b.subnet} ct status dnat masquerade")
    lines += ["  }", "  chain forward {", "    type filter hook forward priority 0; policy accept;",
              "    ct state established,related accept", "    ct status dnat accept"]
    names = [b.iface for b in rs.bridges]
    for b in rs.bridges:
        if b.internal:
            lines.append(f"    iifname {_q(b.iface)} oifname != {_q(b.iface)} drop")
            lines.append(f"    oifname {_q(b.iface)} iifname != {_q(b.iface)} drop")
        if not b.icc:
            lines.append(f"    iifname {_q(b.iface)} oifname {_q(b.iface)} drop")
        others = [n for n in names if n != b.iface]
        if others:  # isolation between networks, like Docker's DOCKER-ISOLATION chains
            lines.append(f"    iifname {_q(b.iface)} oifname {{ {', '.join(_q(n) for n in others)} }} drop")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def delete_table_script(table: str) -> str:
    return f"table ip {table} {{}}\ndelete table ip {table}\n"


def docker_user_script(chain: tuple[str, str], tag: str, old_handles: Iterable[int],
                       bridges: Iterable[str]) -> str:
    """Swap our accept rules in someone else's FORWARD-path chain (its DOCKER-USER, or FORWARD)."""
    table, name = chain
    lines = [f"delete rule ip {table} {_q(name)[1:-1]} handle {h}" for h in old_handles]
    for br in bridges:
        for rule in (f"iifname {_q(br)}", f"oifname {_q(br)} ct state established,related",
                     f"oifname {_q(br)} ct status dnat"):
            lines.append(f"insert rule ip {table} {name} {rule} counter accept comment {_q(tag)}")
    return "\n".join(lines) + ("\n" if lines else "")


def find_forward_drop(ruleset: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The chain to put accept rules in when iptables' FORWARD policy drops, else None."""
    chains = {(c["table"], c["name"]): c for item in ruleset for c in [item.get("chain")]
              if c and c.get("family") == "ip"}
    forward = chains.get(("filter", "FORWARD"))
    if not forward or forward.get("policy") != "drop":
        return None
    return ("filter", "DOCKER-USER") if ("filter", "DOCKER-USER") in chains else ("filter", "FORWARD")


def tagged_handles(ruleset: list[dict[str, Any]], chain: tuple[str, str], tag: str) -> list[int]:
    out = []
    for item in ruleset:
        r = item.get("rule")
        if r and r.get("family") == "ip" and (r["table"], r["chain"]) == chain and r.get("comment") == tag:
            out.append(int(r["handle"]))
    return out


class Firewall:
    """Applies a Ruleset: our table, plus the DOCKER-USER accepts where they are needed."""

    def __init__(self, nft: Nft, table: str) -> None:
        self.nft = nft
        self.table = table
        self.tag = f"dockyard:{table}"

    def apply(self, rs: Ruleset) -> None:
        self.nft.run(table_script(self.table, rs))
        self._docker_user([b.iface for b in rs.bridges])

    def remove(self) -> None:
        self.nft.run(delete_table_script(self.table))
        self._docker_user([])

    def _docker_user(self, bridges: list[str]) -> None:
        try:
            ruleset = self.nft.list_json("list table ip filter")
        except OSError:
            return  # no iptables filter table: nothing drops our traffic
        chain = find_forward_drop(ruleset)
        if chain is None:
            return
        script = docker_user_script(chain, self.tag, tagged_handles(ruleset, chain, self.tag), bridges)
        if script:
            self.nft.run(script)
