"""The volume service over a temp database and the local driver (no root, no mounts)."""
from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.store.db import Database
from dockyard.volumes.drivers import builtin
from dockyard.volumes.service import VolumeService
from dockyard.volumes.store import VolumeStore


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def publish(self, type_, action, actor_id, attributes):
        self.seen.append((action, actor_id))


@pytest.fixture()
def svc(tmp_path):
    users: dict[str, list[str]] = {}
    s = VolumeService(VolumeStore(Database(tmp_path / "m.db")), builtin(str(tmp_path / "volumes")),
                      Events(), lambda name: users.get(name, []))
    s.test_users = users  # type: ignore[attr-defined]
    return s


def test_create_is_idempotent_and_persists(svc, tmp_path):
    a = svc.create("data", labels={"a": "b"})
    assert a.mountpoint == str(tmp_path / "volumes/data/_data")
    assert svc.create("data").created == a.created
    assert svc.events.seen == [("create", "data")]
    again = VolumeService(VolumeStore(Database(tmp_path / "m.db")), builtin(str(tmp_path / "volumes")),
                          Events())
    assert again.get("data").labels == {"a": "b"}


def test_filters(svc):
    svc.create("one", labels={"x": "1"})
    svc.create("two")
    svc.test_users["two"] = ["c1"]
    assert [v.name for v in svc.list({"dangling": ["true"]})] == ["one"]
    assert [v.name for v in svc.list({"dangling": ["false"]})] == ["two"]
    assert [v.name for v in svc.list({"label": ["x=1"]})] == ["one"]
    assert [v.name for v in svc.list({"name": ["tw"]})] == ["two"]
    with pytest.raises(errors.InvalidParameter):
        svc.list({"bogus": ["1"]})


def test_remove_in_use_and_prune(svc):
    svc.create("busy")
    svc.create("idle")
    svc.test_users["busy"] = ["c1"]
    with pytest.raises(errors.Conflict, match="volume is in use - \\[c1\\]"):
        svc.remove("busy")
    deleted, _ = svc.prune({})
    assert deleted == ["idle"]
    with pytest.raises(errors.NotFound, match="get idle: no such volume"):
        svc.remove("idle")
    svc.remove("idle", force=True)


def test_bad_names_and_options(svc):
    with pytest.raises(errors.InvalidParameter, match="includes invalid characters"):
        svc.create("a/b")
    with pytest.raises(errors.InvalidParameter, match='invalid option key: "x"'):
        svc.create("vv", options={"x": "1"})
    with pytest.raises(errors.InvalidParameter, match='missing required option: "device"'):
        svc.create("vv", options={"type": "tmpfs"})
    with pytest.raises(errors.NotFound):
        svc.create("vv", driver="nope")
    assert svc.list({}) == []
