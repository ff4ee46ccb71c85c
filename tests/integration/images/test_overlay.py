"""Overlay on the real kernel: whiteouts, device nodes, container rootfs mount, export, diff."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.linux.mount import is_mountpoint
from dockyard.snapshots import apply_layer
from tests.unit.snapshots.tars import make_tar

pytestmark = pytest.mark.root
REPO = Path(__file__).resolve().parents[3]


def test_whiteouts_become_overlay_devices_and_xattrs(tmp_path):
    tar = make_tar([("etc", "dir"), ("etc/.wh.passwd", "file"), ("var", "dir"),
                    ("var/.wh..wh..opq", "file"), ("dev", "dir"), ("dev/null", "chr")])
    apply_layer(io.BytesIO(tar), str(tmp_path))
    st = os.lstat(tmp_path / "etc" / "passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(tmp_path / "var", "trusted.overlay.opaque") == b"y"
    assert stat.S_ISCHR(os.lstat(tmp_path / "dev" / "null").st_mode)
    assert not (tmp_path / "etc" / ".wh.passwd").exists()


def test_ownership_kept(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("f")
        ti.uid, ti.gid, ti.mode, ti.size = 1234, 5678, 0o4755, 1
        tf.addfile(ti, io.BytesIO(b"x"))
    apply_layer(io.BytesIO(buf.getvalue()), str(tmp_path))
    st = os.stat(tmp_path / "f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o4755)


def _two_layer_image(svc, tmp_path):
    """An image whose second layer deletes a file and makes a dir opaque (via save/load)."""
    base = make_tar([("bin", "dir"), ("bin/sh", "file", b"sh"), ("etc", "dir"),
                     ("etc/gone", "file", b"x"), ("opq", "dir"), ("opq/old", "file", b"o")])
    top = make_tar([("etc", "dir"), ("etc/.wh.gone", "file"), ("opq", "dir"),
                    ("opq/.wh..wh..opq", "file"), ("opq/new", "file", b"n")])
    base_id = svc.import_tar(io.BytesIO(base), "base", None)
    cfg = svc.config(base_id)
    import hashlib
    import json
    diff2 = "sha256:" + hashlib.sha256(top).hexdigest()
    cfg["rootfs"]["diff_ids"].append(diff2)
    cfg["history"].append({"created": cfg["created"], "created_by": "layer two"})
    config = json.dumps(cfg).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in (("c.json", config), ("l1.tar", base), ("l2.tar", top),
                           ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["two:1"],
                                                          "Layers": ["l1.tar", "l2.tar"]}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    assert svc.load(io.BytesIO(out.getvalue())) == ["Loaded image: two:1"]
    return svc.resolve("two:1")


def test_container_rootfs_mount(svc, tmp_path):
    image = _two_layer_image(svc, tmp_path)
    assert len(svc.inspect(image)["RootFS"]["Layers"]) == 2
    assert "LowerDir" in svc.inspect(image)["GraphDriver"]["Data"]
    assert len(svc.store.driver.known_ids()) == 2  # the base layer is shared with "base"
    cid = "ab" * 32
    target = str(tmp_path / "rootfs")
    svc.prepare_rootfs(cid, image)
    svc.mount_rootfs(cid, target)
    svc.mount_rootfs(cid, target)  # idempotent
    try:
        assert is_mountpoint(target)
        assert (Path(target) / "bin" / "sh").read_bytes() == b"sh"
        assert not (Path(target) / "etc" / "gone").exists()
        assert sorted(os.listdir(Path(target) / "opq")) == ["new"]
        (Path(target) / "hello").write_text("written")
        upper = Path(svc.graph_driver(cid)["Data"]["UpperDir"])
        assert (upper / "hello").read_text() == "written"
        assert svc.rootfs_size(cid) == len("written")
        os.unlink(Path(target) / "bin" / "sh")
        diff = io.BytesIO()
        svc.diff(cid, diff)
        diff.seek(0)
        assert set(tarfile.open(fileobj=diff).getnames()) >= {"hello", "bin/.wh.sh"}
    finally:
        svc.unmount_rootfs(cid, target)
        svc.unmount_rootfs(cid, target)  # idempotent
    assert not is_mountpoint(target)
    out = io.BytesIO()
    svc.export(cid, out)  # mounts temporarily
    out.seek(0)
    names = tarfile.open(fileobj=out).getnames()
    assert "hello" in names and "opq/new" in names and "bin/sh" not in names and "etc/gone" not in names
    assert not is_mountpoint(svc.store.driver.merged_dir(cid))
    svc.remove_rootfs(cid)
    assert cid not in svc.store.driver.known_ids()


def test_rmi_force_keeps_layers_of_container(svc, tmp_path):
    image = _two_layer_image(svc, tmp_path)
    cid = "cd" * 32
    svc.prepare_rootfs(cid, image)
    res = svc.remove("two:1", True, False, lambda i: [cid] if i == image else [])
    assert res == [{"Untagged": "two:1"}, {"Deleted": image}]  # layers stay for the container
    svc.remove_rootfs(cid)  # now the top layer goes; the base is still used by "base"
    assert len(svc.store.driver.known_ids()) == 1


def test_busybox_tool_import_and_run_shell(svc, tmp_path):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed")
    tar = subprocess.run([str(REPO / "tools" / "mkbusybox-rootfs")], check=True, capture_output=True).stdout
    again = subprocess.run([str(REPO / "tools" / "mkbusybox-rootfs")], check=True, capture_output=True).stdout
    assert tar == again  # deterministic, so the diffID is stable
    image = svc.import_tar(io.BytesIO(tar), "busybox", "latest", changes=['CMD ["sh"]'])
    cid = "ef" * 32
    target = str(tmp_path / "bb")
    svc.prepare_rootfs(cid, image)
    svc.mount_rootfs(cid, target)
    try:
        out = subprocess.run(["chroot", target, "/bin/sh", "-c", "echo hi > /tmp/x && cat /tmp/x && ls /bin | wc -l"],
                             check=True, capture_output=True, text=True).stdout.split()
        assert out[0] == "hi" and int(out[1]) > 50
        assert stat.S_IMODE(os.stat(Path(target) / "tmp").st_mode) == 0o1777
    finally:
        svc.unmount_rootfs(cid, target)
    svc.remove_rootfs(cid)
