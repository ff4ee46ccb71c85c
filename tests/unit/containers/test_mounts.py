"""-v / --mount / --tmpfs parsing with Docker's messages (containers/mounts.py)."""
from __future__ import annotations

import pytest

from dockyard.containers import mounts
from dockyard.errors import InvalidParameter


def test_bind_and_volume_specs():
    b = mounts.parse_bind("/src:/dst:ro,rslave")
    assert (b["Type"], b["Source"], b["Destination"], b["RW"], b["Propagation"]) == \
        ("bind", "/src", "/dst", False, "rslave")
    v = mounts.parse_bind("data:/d:nocopy")
    assert (v["Type"], v["Name"], v["Copy"], v["RW"]) == ("volume", "data", False, True)


@pytest.mark.parametrize("spec, message", [
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("/a:/b:bad", "invalid mode: bad"),
    ("/a:/b:ro,rw", "invalid mode: ro,rw"),
    ("v:rel", "mount path must be absolute"),
    ("/a:/", "destination can't be '/'"),
])
def test_bad_binds(spec, message):
    with pytest.raises(InvalidParameter, match=message.replace("(", r"\(")):
        mounts.parse_bind(spec)


@pytest.mark.parametrize("m, message", [
    ({"Type": "bind", "Source": "/dy-missing", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist: /dy-missing'),
    ({"Type": "bind", "Target": "/x"}, "field Source must not be empty"),
    ({"Type": "tmpfs", "Source": "x", "Target": "/x"}, "field Source must not be specified"),
    ({"Type": "volume", "Target": "/x", "BindOptions": {"Propagation": "shared"}},
     "field BindOptions must not be specified"),
    ({"Type": "weird", "Target": "/x"}, "mount type unknown"),
    ({"Type": "volume"}, "field Target must not be empty"),
])
def test_bad_mounts(m, message):
    with pytest.raises(InvalidParameter, match=message):
        mounts.parse_mount(m)


def test_parse_all_order_and_duplicates():
    pts = mounts.parse_all({"Volumes": {"/data": {}}}, {"Binds": ["/h:/data/sub"],
                                                         "Tmpfs": {"/run": "size=1m"}},
                           {"/img": {}}, lambda ref: [])
    assert [p["Destination"] for p in pts] == ["/img", "/data", "/run", "/data/sub"]
    assert all(p.get("Anonymous") for p in pts if p["Destination"] in ("/img", "/data"))
    with pytest.raises(InvalidParameter, match="Duplicate mount point: /x"):
        mounts.parse_all({}, {"Binds": ["/a:/x", "/b:/x"]}, None, lambda ref: [])


def test_render_matches_docker():
    p = mounts.parse_bind("v1:/d")
    p.update(Source="/var/lib/dockyard/volumes/v1/_data")
    assert mounts.render(p) == {"Type": "volume", "Name": "v1", "Source": "/var/lib/dockyard/volumes/v1/_data",
                                "Destination": "/d", "Mode": "z", "RW": True, "Propagation": "",
                                "Driver": "local"}
