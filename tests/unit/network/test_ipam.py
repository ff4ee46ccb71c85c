from ipaddress import IPv4Address as A, IPv4Network as N

import pytest

from dockyard import errors
from dockyard.network import ipam


def test_pick_skips_routes_subnets_in_use_and_nameservers() -> None:
    pools = [ipam.Pool(N("10.10.0.0/16"), 24)]
    got = ipam.pick_subnet(pools, in_use=[N("10.10.0.0/24")], host_routes=[N("10.10.1.0/24")],
                           nameservers=[A("10.10.2.53")])
    assert got == N("10.10.3.0/24")


def test_default_pools_follow_docker() -> None:
    got = ipam.pick_subnet(ipam.DEFAULT_POOLS, [], [N("172.17.0.0/16")], [])
    assert got == N("172.18.0.0/16")
    assert ipam.DEFAULT_POOLS[-1] == ipam.Pool(N("192.168.0.0/16"), 20)


def test_pools_exhausted() -> None:
    with pytest.raises(errors.Unavailable):
        ipam.pick_subnet([ipam.Pool(N("10.0.0.0/30"), 30)], [N("10.0.0.0/8")], [], [])


def test_overlap_is_forbidden() -> None:
    with pytest.raises(errors.Forbidden, match="Pool overlaps"):
        ipam.check_overlap(N("10.1.0.0/16"), [N("10.1.2.0/24")])


def test_allocate_lowest_free_never_gateway() -> None:
    s = ipam.Subnet.build(N("10.5.0.0/24"), None, None)
    assert s.gateway == A("10.5.0.1")
    assert s.allocate(set()) == A("10.5.0.2")
    assert s.allocate({A("10.5.0.2")}) == A("10.5.0.3")


def test_allocate_within_ip_range() -> None:
    s = ipam.Subnet.build(N("10.5.0.0/16"), "10.5.0.254", "10.5.9.0/24")
    assert s.allocate(set()) == A("10.5.9.1")


def test_requested_address_checks() -> None:
    s = ipam.Subnet.build(N("10.5.0.0/24"), None, None)
    assert s.allocate(set(), A("10.5.0.77")) == A("10.5.0.77")
    with pytest.raises(errors.Conflict, match="Address already in use"):
        s.allocate({A("10.5.0.77")}, A("10.5.0.77"))
    with pytest.raises(errors.InvalidParameter, match="no configured subnet"):
        s.allocate(set(), A("10.6.0.7"))


def test_gateway_and_range_outside_subnet_are_rejected() -> None:
    with pytest.raises(errors.InvalidParameter, match="gateway"):
        ipam.Subnet.build(N("10.5.0.0/24"), "10.6.0.1", None)
    with pytest.raises(errors.InvalidParameter, match="range"):
        ipam.Subnet.build(N("10.5.0.0/24"), None, "10.6.0.0/28")
    with pytest.raises(errors.InvalidParameter, match="invalid CIDR"):
        ipam.parse_subnet("10.300.0.0/16")


def test_full_subnet() -> None:
    s = ipam.Subnet.build(N("10.5.0.0/30"), None, None)
    assert s.allocate(set()) == A("10.5.0.2")
    with pytest.raises(errors.Unavailable):
        s.allocate({A("10.5.0.2")})


def test_mac_from_address() -> None:
    assert ipam.mac_for(A("172.18.0.2")) == "02:42:ac:12:00:02"


def test_nameservers_read(tmp_path) -> None:
    f = tmp_path / "resolv.conf"
    f.write_text("search x\nnameserver 10.0.0.53\nnameserver ::1\n")
    assert ipam.host_nameservers(str(f)) == [A("10.0.0.53")]
