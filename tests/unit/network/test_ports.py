import pytest

from dockyard import errors
from dockyard.network import ports
from dockyard.network.ports import Binding


def test_port_bindings_and_publish_all() -> None:
    config = {"ExposedPorts": {"80/tcp": {}, "53/udp": {}, "443": {}}}
    host = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
            "PublishAllPorts": True}
    got = ports.bindings(config, host)
    assert Binding("tcp", 80, "127.0.0.1", 8080) in got
    assert Binding("udp", 53) in got and Binding("tcp", 443) in got
    assert len(got) == 3


def test_random_host_port_and_ranges() -> None:
    got = ports.bindings({}, {"PortBindings": {"80/tcp": [{"HostPort": ""}],
                                               "90-91/udp": [{"HostPort": "9000-9001"}],
                                               "100/tcp": [{"HostPort": "7000-7005"}]}})
    assert Binding("tcp", 80) in got
    assert Binding("udp", 90, "", 9000) in got and Binding("udp", 91, "", 9001) in got
    assert Binding("tcp", 100, "", 7000, 7005) in got


@pytest.mark.parametrize("host", [
    {"PortBindings": {"abc/tcp": []}},
    {"PortBindings": {"80/xyz": []}},
    {"PortBindings": {"70000/tcp": []}},
    {"PortBindings": {"80/tcp": [{"HostPort": "http"}]}},
    {"PortBindings": {"80/tcp": [{"HostIp": "1.2.3", "HostPort": "80"}]}},
    {"PortBindings": {"80-82/tcp": [{"HostPort": "9000-9001"}]}},
    {"PortBindings": {"80/tcp": [{"HostPort": "9005-9001"}]}},
])
def test_invalid_specs(host: dict) -> None:
    with pytest.raises(errors.InvalidParameter):
        ports.validate({}, host)


def test_renderings() -> None:
    config = {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}}
    published = [Binding("tcp", 80, "", 8080)]
    assert ports.inspect_ports(config, published) == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    assert ports.summary_ports(config, published) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"}]
