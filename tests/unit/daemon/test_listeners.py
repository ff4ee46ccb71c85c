"""-H parsing as dockerd's ParseHost, and the plain-TCP rule (warn on loopback, refuse elsewhere unless forced)."""
from __future__ import annotations

import logging

import pytest

from dockyard.daemon.config import Config, parse_args
from dockyard.daemon.listeners import check_insecure, parse_host
from dockyard.errors import DockyardError, InvalidParameter


@pytest.mark.parametrize("spec,tls,url", [
    ("tcp://127.0.0.1", False, "tcp://127.0.0.1:2375"),
    ("tcp://127.0.0.1", True, "tcp://127.0.0.1:2376"),
    ("tcp://", False, "tcp://localhost:2375"),
    ("tcp://:4000", True, "tcp://localhost:4000"),
    ("0.0.0.0:2375", False, "tcp://0.0.0.0:2375"),
    ("tcp://[::1]:2376", True, "tcp://[::1]:2376"),
    ("unix:///run/x.sock", False, "unix:///run/x.sock"),
    ("", False, "unix:///run/dockyard/dockyard.sock"),
])
def test_hosts_parse_as_dockerd_reads_them(spec, tls, url):
    assert parse_host(spec, tls).url == url


@pytest.mark.parametrize("spec", ["udp://1.2.3.4:5", "tcp://1.2.3.4:5/path", "tcp://1.2.3.4:notaport"])
def test_bad_hosts_are_refused(spec):
    with pytest.raises(InvalidParameter, match="Invalid bind address format"):
        parse_host(spec, False)


def test_plain_tcp_on_loopback_only_warns(caplog):
    with caplog.at_level(logging.WARNING):
        check_insecure(Config(hosts=["tcp://127.0.0.1:2375"]))
    assert "Binding to IP address without --tlsverify is insecure" in caplog.text


def test_plain_tcp_off_loopback_needs_tls_false_or_tlsverify_false():
    with pytest.raises(DockyardError, match="'--tls=false' or '--tlsverify=false'"):
        check_insecure(Config(hosts=["tcp://0.0.0.0:2375"]))
    check_insecure(Config(hosts=["tcp://0.0.0.0:2375"], tls=False))
    check_insecure(Config(hosts=["tcp://0.0.0.0:2375"], tlsverify=False))
    check_insecure(Config(hosts=["tcp://0.0.0.0:2376"], tlsverify=True))


def test_tls_flags_and_keys(tmp_path):
    conf = tmp_path / "daemon.json"
    conf.write_text('{"tlscacert": "/c", "tlscert": "/s", "tlskey": "/k", "tls": true}')
    cfg = parse_args(["--config-file", str(conf), "--tlsverify", "--tls=false", "--tlskey", "/flag"])
    assert (cfg.tls, cfg.tlsverify, cfg.tlscacert, cfg.tlscert, cfg.tlskey) == (False, True, "/c", "/s", "/flag")
    assert (Config().tls, Config().tlsverify) == (None, None)  # not given: plain TCP off loopback is refused
    with pytest.raises(InvalidParameter, match='invalid argument "maybe" for "--tls" flag'):
        parse_args(["--config-file", str(conf), "--tls=maybe"])
    conf.write_text('{"tlsverify": "yes"}')
    with pytest.raises(InvalidParameter, match="tlsverify must be true or false"):
        parse_args(["--config-file", str(conf)])
