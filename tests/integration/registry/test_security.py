"""TLS (certificates from trustme), htpasswd basic auth and the token server, driven by skopeo."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import requests

from .conftest import REPO, Layout, RegistryProcess, manifest_digest, skopeo


def _htpasswd(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    line = subprocess.run([sys.executable, "-m", "dockyard.registry.cli", "htpasswd", "--password-stdin", "alice"],
                          input="s3cret\n", capture_output=True, text=True, check=True, cwd=str(REPO)).stdout
    path.write_text(line)
    return path


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path, Path]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    d = tmp_path / "certs"
    d.mkdir()
    cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.crt"))
    return d / "server.pem", d / "ca.crt", d


def test_tls_with_a_verified_certificate(start_registry: Callable[..., RegistryProcess], layout: Layout,
                                         certs: tuple[Path, Path, Path]) -> None:
    pem, ca, cert_dir = certs
    reg = start_registry(f'[http.tls]\ncertificate = "{pem}"\nkey = "{pem}"\n', scheme="https")
    r = requests.get(f"{reg.url}/v2/", verify=str(ca), timeout=30)
    assert r.status_code == 200 and r.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{reg.url}/v2/", timeout=30)  # not trusted without the CA
    image = layout.image({"tls": b"over TLS"})
    layout.tag(image, "v1")
    skopeo("copy", f"--dest-cert-dir={cert_dir}", f"oci:{layout.path}:v1", f"docker://{reg.host}/secure:v1")
    assert manifest_digest(reg.url, "secure", "v1", verify=str(ca)) == image["digest"]
    out = layout.path.parent / "tls-out"
    skopeo("copy", f"--src-cert-dir={cert_dir}", f"docker://{reg.host}/secure:v1", f"oci:{out}:v1")
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == image["digest"]


def test_htpasswd_basic_auth(start_registry: Callable[..., RegistryProcess], layout: Layout, tmp_path: Path) -> None:
    htpasswd = _htpasswd(tmp_path)
    reg = start_registry(f'[auth.htpasswd]\npath = "{htpasswd}"\nrealm = "test realm"\n')
    r = requests.get(f"{reg.url}/v2/", timeout=30)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="test realm"'
    layout.tag(layout.image({"a": b"b"}), "v1")
    denied = skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{reg.host}/p:v1",
                    check=False)
    assert denied.returncode != 0
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds=alice:s3cret", f"oci:{layout.path}:v1",
           f"docker://{reg.host}/p:v1")
    assert requests.get(f"{reg.url}/v2/p/tags/list", auth=("alice", "s3cret"), timeout=30).json()["tags"] == ["v1"]


def test_token_server(start_registry: Callable[..., RegistryProcess], layout: Layout, tmp_path: Path) -> None:
    htpasswd = _htpasswd(tmp_path)
    reg = start_registry(f'''
[auth.token]
htpasswd = "{htpasswd}"
service = "test-registry"
[[auth.token.acl]]
account = "alice"
name = "*"
actions = ["pull", "push", "delete"]
[[auth.token.acl]]
account = ""
name = "public/*"
actions = ["pull"]
''')
    r = requests.get(f"{reg.url}/v2/", timeout=30)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == f'Bearer realm="{reg.url}/auth/token",service="test-registry"'
    image = layout.image({"t": b"token"})
    layout.tag(image, "v1")
    assert skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{reg.host}/public/x:v1",
                  check=False).returncode != 0  # anonymous cannot push
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds=alice:s3cret", f"oci:{layout.path}:v1",
           f"docker://{reg.host}/public/x:v1")
    # anonymous pull of public/*: skopeo gets an anonymous token
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{reg.host}/public/x:v1").stdout)
    assert info["Digest"] == image["digest"]
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds=alice:s3cret", f"oci:{layout.path}:v1",
           f"docker://{reg.host}/private/y:v1")
    assert skopeo("inspect", "--tls-verify=false", f"docker://{reg.host}/private/y:v1", check=False).returncode != 0
    assert skopeo("inspect", "--tls-verify=false", "--creds=alice:s3cret",
                  f"docker://{reg.host}/private/y:v1").returncode == 0
