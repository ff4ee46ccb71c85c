from dockyard.network import rules
from dockyard.network.rules import BridgeRules, Firewall, Forward, Ruleset


def _script() -> str:
    rs = Ruleset([BridgeRules("dy0", "10.1.0.0/24"), BridgeRules("dy-int", "10.2.0.0/24", internal=True),
                  BridgeRules("dy-noicc", "10.3.0.0/24", icc=False)],
                 [Forward("tcp", "", 8080, "10.1.0.2", 80), Forward("udp", "127.0.0.1", 5353, "10.1.0.2", 53)])
    return rules.table_script("dockyard", rs)


def test_table_is_replaced_atomically_never_flushing_the_host() -> None:
    s = _script()
    assert s.startswith("table ip dockyard {}\ndelete table ip dockyard\ntable ip dockyard {")
    assert "flush ruleset" not in s and "docker0" not in s


def test_nat_and_published_ports() -> None:
    s = _script()
    assert 'ip saddr 10.1.0.0/24 oifname != "dy0" masquerade' in s
    assert 'ip saddr 10.2.0.0/24 oifname != "dy-int" masquerade' not in s  # internal: no NAT
    assert "tcp dport 8080 dnat to 10.1.0.2:80" in s
    assert "ip daddr 127.0.0.1 udp dport 5353 dnat to 10.1.0.2:53" in s
    assert "ip daddr != 127.0.0.0/8 fib daddr type local jump ports" in s


def test_isolation_internal_and_icc() -> None:
    s = _script()
    assert 'iifname "dy0" oifname { "dy-int", "dy-noicc" } drop' in s
    assert 'iifname "dy-int" oifname != "dy-int" drop' in s
    assert 'iifname "dy-noicc" oifname "dy-noicc" drop' in s
    assert s.index("ct status dnat accept") < s.index('iifname "dy0" oifname {')


def _ruleset(policy: str, docker_user: bool, tagged: int | None = None) -> list[dict]:
    items = [{"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "policy": policy}}]
    if docker_user:
        items.append({"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER"}})
    if tagged is not None:
        items.append({"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER",
                               "handle": tagged, "comment": "dockyard:dockyard"}})
    return items


def test_docker_forward_drop_is_detected() -> None:
    assert rules.find_forward_drop(_ruleset("accept", True)) is None
    assert rules.find_forward_drop(_ruleset("drop", True)) == ("filter", "DOCKER-USER")
    assert rules.find_forward_drop(_ruleset("drop", False)) == ("filter", "FORWARD")


class FakeNft:
    def __init__(self, ruleset: list[dict] | None) -> None:
        self.ruleset = ruleset
        self.scripts: list[str] = []

    def run(self, script: str) -> None:
        self.scripts.append(script)

    def list_json(self, command: str) -> list[dict]:
        if self.ruleset is None:
            raise OSError("No such file or directory")
        return self.ruleset


def test_firewall_adds_narrow_accepts_only_when_docker_drops() -> None:
    nft = FakeNft(_ruleset("drop", True, tagged=7))
    Firewall(nft, "dockyard").apply(Ruleset([BridgeRules("dy0", "10.1.0.0/24")]))
    assert len(nft.scripts) == 2
    swap = nft.scripts[1]
    assert "delete rule ip filter DOCKER-USER handle 7" in swap
    assert 'insert rule ip filter DOCKER-USER iifname "dy0" counter accept comment "dockyard:dockyard"' in swap
    nft = FakeNft(None)
    Firewall(nft, "dockyard").apply(Ruleset([BridgeRules("dy0", "10.1.0.0/24")]))
    assert len(nft.scripts) == 1


def test_remove_takes_our_accepts_away() -> None:
    nft = FakeNft(_ruleset("drop", True, tagged=3))
    Firewall(nft, "dockyard").remove()
    assert nft.scripts[0] == "table ip dockyard {}\ndelete table ip dockyard\n"
    assert nft.scripts[1] == "delete rule ip filter DOCKER-USER handle 3\n"
