import base64
import json

import pytest

from dockyard.distribution.auth import Authorizer, Credentials, TokenCache, parse_challenges
from dockyard.errors import InvalidParameter


def test_credentials_from_header():
    raw = json.dumps({"username": "u", "password": "p", "serveraddress": "h:5000"}).encode()
    c = Credentials.from_header(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    assert (c.username, c.password, c.server) == ("u", "p", "h:5000")
    assert Credentials.from_header("").anonymous
    assert Credentials.from_header(base64.urlsafe_b64encode(b"{}").decode()).anonymous
    with pytest.raises(InvalidParameter):
        Credentials.from_header("%%%not-base64")


def test_parse_challenges():
    chs = parse_challenges('Bearer realm="https://auth.example/token",service="registry.example",'
                           'scope="repository:a/b:pull,push"')
    assert chs[0].scheme == "bearer"
    assert chs[0].params == {"realm": "https://auth.example/token", "service": "registry.example",
                             "scope": "repository:a/b:pull,push"}
    assert parse_challenges('Basic realm="x"')[0].scheme == "basic"


def test_bearer_tokens_cached_per_scope_and_credentials():
    calls: list[tuple] = []

    def fetch(realm, service, scopes, creds):
        calls.append((scopes, creds.username))
        return f"tok{len(calls)}", 300

    cache = TokenCache()
    a = Authorizer(Credentials("u", "p"), cache, fetch)
    assert a.header(("repository:x:pull",)) is None  # no challenge yet
    assert a.learn('Bearer realm="http://t/token",service="s"')
    assert a.header(("repository:x:pull",)) == "Bearer tok1"
    assert a.header(("repository:x:pull",)) == "Bearer tok1"
    assert a.header(("repository:y:pull",)) == "Bearer tok2"
    other = Authorizer(Credentials("u", "other"), cache, fetch)
    other.learn('Bearer realm="http://t/token",service="s"')
    assert other.header(("repository:x:pull",)) == "Bearer tok3"
    assert len(calls) == 3


def test_basic_and_registry_token():
    a = Authorizer(Credentials("u", "p"), TokenCache(), lambda *a: ("", 0))
    a.learn('Basic realm="r"')
    assert a.header(()) == "Basic " + base64.b64encode(b"u:p").decode()
    assert Authorizer(Credentials(registry_token="rt"), TokenCache(), lambda *a: ("", 0)).header(()) == "Bearer rt"
