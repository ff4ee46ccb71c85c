"""htpasswd basic auth and the token server: challenges, scopes, pull vs push, token validation."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from dockyard.registry.auth.htpasswd import BasicAuth, Htpasswd, hash_password
from dockyard.registry.auth.token import (Rule, TokenAuth, TokenConfig, TokenServer, parse_scopes, sign,
                                          verify)

from .conftest import Registry, digest, error_code


@pytest.fixture
def htpasswd_file(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    path.write_text(f"alice:{hash_password('wonderland', rounds=4)}\n"
                    f"bob:{hash_password('builder', rounds=4).replace('$2b$', '$2y$')}\n")
    return path


def test_htpasswd_verifies_bcrypt_including_2y(htpasswd_file: Path) -> None:
    h = Htpasswd(str(htpasswd_file))
    assert h.verify("alice", "wonderland")
    assert h.verify("alice", "wonderland")  # cached
    assert h.verify("bob", "builder")
    assert not h.verify("alice", "nope")
    assert not h.verify("carol", "x")


def test_basic_auth_challenge_and_access(make_registry, htpasswd_file: Path) -> None:  # type: ignore[no-untyped-def]
    reg: Registry = make_registry(authorizer=BasicAuth(Htpasswd(str(htpasswd_file)), realm="test"))
    r = reg.req("GET", "/v2/")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="test"'
    assert error_code(r) == "UNAUTHORIZED"
    assert reg.req("GET", "/v2/", auth=("alice", "bad")).status_code == 401
    reg.session.auth = ("alice", "wonderland")
    assert reg.req("GET", "/v2/").status_code == 200
    reg.push_image("private/app", "v1")
    reg.session.auth = None
    assert reg.req("GET", "/v2/private/app/manifests/v1").status_code == 401


def _token_registry(make_registry, htpasswd_file: Path, acl: list[Rule] | None = None):  # type: ignore[no-untyped-def]
    config = TokenConfig(service="test-registry", key=b"k" * 32)
    if acl is not None:
        config.acl = acl
    return make_registry(authorizer=TokenAuth(config), token_server=TokenServer(config, Htpasswd(str(htpasswd_file))))


def _challenge(header: str) -> dict[str, str]:
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def _token(reg: Registry, challenge: dict[str, str], auth: tuple[str, str] | None) -> str:
    realm = challenge["realm"]
    assert realm == f"{reg.url}/auth/token"
    r = reg.session.get(realm, params={"service": challenge["service"], "scope": challenge.get("scope", "")},
                        auth=auth, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0
    return str(body["token"])


def test_bearer_flow_pull_and_push(make_registry, htpasswd_file: Path) -> None:  # type: ignore[no-untyped-def]
    acl = [Rule("alice", "*", ["pull", "push", "delete"]), Rule("bob", "*", ["pull"]), Rule("", "public/*", ["pull"])]
    reg = _token_registry(make_registry, htpasswd_file, acl)
    r = reg.req("POST", "/v2/team/app/blobs/uploads/")
    assert r.status_code == 401
    ch = _challenge(r.headers["WWW-Authenticate"])
    assert ch["service"] == "test-registry" and ch["scope"] == "repository:team/app:pull,push"
    alice = _token(reg, ch, ("alice", "wonderland"))
    data = b"layer"
    r = reg.req("POST", f"/v2/team/app/blobs/uploads/?digest={digest(data)}", data=data,
                headers={"Authorization": f"Bearer {alice}"})
    assert r.status_code == 201
    # bob may pull but not push: his token carries pull only, and push is denied
    bob = _token(reg, ch, ("bob", "builder"))
    r = reg.req("POST", "/v2/team/app/blobs/uploads/", headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 403 and error_code(r) == "DENIED"
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    r = reg.req("HEAD", f"/v2/team/app/blobs/{digest(data)}", headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 200
    # a token for one repository does not open another
    r = reg.req("HEAD", f"/v2/other/blobs/{digest(data)}", headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 403
    # anonymous: public/* is pullable; anything else asks for credentials
    anon = _token(reg, {"realm": f"{reg.url}/auth/token", "service": "test-registry",
                        "scope": "repository:public/x:pull repository:team/app:pull"}, None)
    r = reg.req("GET", "/v2/public/x/tags/list", headers={"Authorization": f"Bearer {anon}"})
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"
    r = reg.req("GET", "/v2/team/app/tags/list", headers={"Authorization": f"Bearer {anon}"})
    assert r.status_code == 401
    # wrong password at the token server
    bad = reg.session.get(f"{reg.url}/auth/token", params={"service": "test-registry"}, auth=("alice", "x"))
    assert bad.status_code == 401


def test_tokens_are_checked_for_signature_audience_and_expiry() -> None:
    key = b"secret"
    now = time.time()
    claims = {"aud": "svc", "exp": now + 60, "access": []}
    token = sign(claims, key)
    assert verify(token, key, "svc") == claims
    assert verify(token, b"other", "svc") is None
    assert verify(token, key, "other-service") is None
    assert verify(sign({**claims, "exp": now - 1}, key), key, "svc") is None
    head, body, mac = token.split(".")
    assert verify(f"{head}.{body}x.{mac}", key, "svc") is None
    assert verify("garbage", key, "svc") is None


def test_scope_parsing() -> None:
    assert parse_scopes(["repository:a/b:pull,push", "repository:localhost:5000/x:pull registry:catalog:*"]) == [
        ("repository", "a/b", ["pull", "push"]), ("repository", "localhost:5000/x", ["pull"]),
        ("registry", "catalog", ["*"])]
