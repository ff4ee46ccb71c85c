import pytest

from dockyard.distribution.hosts import RegistryConfig
from dockyard.errors import InvalidParameter


def test_insecure_defaults_and_config():
    cfg = RegistryConfig(insecure=["10.0.0.0/8", "myreg:5000"])
    assert cfg.is_insecure("127.0.0.1:5000") and cfg.is_insecure("localhost:5000") and cfg.is_insecure("localhost")
    assert cfg.is_insecure("10.1.2.3:443") and cfg.is_insecure("myreg:5000")
    assert not cfg.is_insecure("registry.example.com") and not cfg.is_insecure("myreg:5001")


def test_endpoints_order():
    cfg = RegistryConfig(mirrors=["https://mirror.example/prefix/"])
    eps = cfg.endpoints("docker.io")
    assert [e.base for e in eps] == ["https://mirror.example/prefix", "https://registry-1.docker.io"]
    assert eps[0].mirror and not eps[1].mirror
    assert [e.base for e in cfg.endpoints("docker.io", push=True)] == ["https://registry-1.docker.io"]
    local = cfg.endpoints("127.0.0.1:5000")
    assert [(e.scheme, e.verify) for e in local] == [("https", False), ("http", True)]
    assert [e.scheme for e in cfg.endpoints("quay.io")] == ["https"]


def test_bad_config():
    with pytest.raises(InvalidParameter):
        RegistryConfig(insecure=["http://x"])
    with pytest.raises(InvalidParameter):
        RegistryConfig(mirrors=["mirror.example"])


def test_certs_d(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    (tmp_path / "reg.example:5000").mkdir()
    ca.cert_pem.write_to_path(str(tmp_path / "reg.example:5000" / "ca.crt"))
    ctx = RegistryConfig(certs_dirs=(tmp_path,)).tls_context("reg.example:5000")
    subjects = [c.get("subject") for c in ctx.get_ca_certs()]
    assert any("trustme" in str(s) for s in subjects)
