from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.containers import live
from dockyard.containers.model import Container
from dockyard.runtime import catalog


def _c() -> Container:
    return Container(id="a" * 64, name="n", image="busybox", image_id="sha256:x", created="", path="sh",
                     args=[], config={}, host_config={"Memory": 0})


def test_validate_update():
    assert live.validate_update(_c(), {"Memory": 64 << 20, "PidsLimit": 10, "Unknown": 1}) == {
        "Memory": 64 << 20, "PidsLimit": 10}
    for bad in ({"Memory": 1024}, {"Memory": -1}, {"NanoCpus": 1, "CpuPeriod": 100000}, {"BlkioWeight": 1},
                {"CpuPeriod": 1}, {"Memory": "1g"}, {"CpusetCpus": 3}, {"Memory": 64 << 20, "MemorySwap": 1 << 20}):
        with pytest.raises(errors.InvalidParameter):
            live.validate_update(_c(), bad)
    with pytest.raises(errors.InvalidParameter):
        live.validate_update(_c(), [])


def test_runtime_catalog(tmp_path):
    rts = catalog.available({"mine": {"path": "/opt/mine"}})
    assert rts["builtin"] == "builtin" and rts["mine"] == "/opt/mine"
    assert catalog.resolve("mine", rts) == "/opt/mine"
    with pytest.raises(errors.InvalidParameter, match="Unknown runtime specified nosuch"):
        catalog.resolve("nosuch", rts)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    assert catalog.hybrid_with_v2_controllers(str(tmp_path))
    (tmp_path / "unified" / "cgroup.controllers").write_text("\n")
    assert not catalog.hybrid_with_v2_controllers(str(tmp_path))
