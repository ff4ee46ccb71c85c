import os
import stat

from dockyard.linux.kernel import RecordingKernel
from dockyard.linux.mount import MS_BIND, MS_NODEV, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT
from dockyard.runtime import rootfs


def test_parse_options():
    flags, prop, data = rootfs.parse_options(["nosuid", "ro", "rbind", "rprivate", "mode=755", "size=64k"])
    assert flags == MS_NOSUID | MS_RDONLY | MS_BIND | MS_REC
    assert prop == MS_PRIVATE | MS_REC
    assert data == "mode=755,size=64k"
    assert rootfs.parse_options(["ro", "rw"])[0] == 0


def test_secure_join_keeps_symlinks_inside(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../../etc", root / "rel")
    assert rootfs.secure_join(str(root), "/abs/hosts") == str(root / "etc" / "hosts")
    assert rootfs.secure_join(str(root), "/rel/hosts") == str(root / "etc" / "hosts")
    assert rootfs.secure_join(str(root), "/../../x") == str(root / "x")


def spec():
    return {
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/etc/hosts", "type": "bind", "source": "/etc/hosts", "options": ["rbind", "ro"]},
        ],
        "linux": {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]},
    }


def test_setup_order_and_devices(tmp_path):
    root = str(tmp_path / "rootfs")
    os.makedirs(root)
    k = RecordingKernel()
    rootfs.setup(k, spec(), root, v2_host=False, new_netns=True)
    calls = k.calls
    # / goes rprivate before anything else is mounted, then the rootfs is bound onto itself.
    assert calls[0] == ("mount", None, "/", None, MS_REC | MS_PRIVATE, None)
    assert calls[1] == ("mount", root, root, None, MS_BIND | MS_REC, None)
    assert ("mount", "proc", f"{root}/proc", "proc", 0, None) in calls
    assert ("mount", "tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID, "mode=755") in calls
    # a bind gets its read-only flag from a remount; a file source gets a file mount point
    assert ("mount", "/etc/hosts", f"{root}/etc/hosts", None, MS_BIND | MS_REC, None) in calls
    assert ("mount", None, f"{root}/etc/hosts", None, MS_BIND | MS_REMOUNT | MS_RDONLY, None) in calls
    assert os.path.isfile(f"{root}/etc/hosts")
    nodes = {c[1]: c for c in calls if c[0] == "mknod"}
    assert nodes[f"{root}/dev/null"][3:] == (1, 3)
    assert nodes[f"{root}/dev/fuse"][3:] == (10, 229)
    assert stat.S_ISCHR(nodes[f"{root}/dev/null"][2])
    assert ("symlink", "pts/ptmx", f"{root}/dev/ptmx") in calls
    assert ("symlink", "/proc/self/fd", f"{root}/dev/fd") in calls
    names = [c[0] for c in calls]
    assert names[-4:] == ["pivot_root", "mount", "umount", "chdir"]


def test_finish_masks_and_readonly(tmp_path, monkeypatch):
    k = RecordingKernel()
    d = tmp_path / "dir"
    d.mkdir()
    f = tmp_path / "file"
    f.write_text("")
    rootfs.finish(k, {"linux": {"maskedPaths": [str(d), str(f), str(tmp_path / "missing")],
                                "readonlyPaths": [str(d)]}, "root": {"readonly": False}})
    assert ("mount", "tmpfs", str(d), "tmpfs", MS_RDONLY, None) in k.calls
    assert ("mount", "/dev/null", str(f), None, MS_BIND, None) in k.calls
    ro = [c for c in k.calls if c[2] == str(d) and c[4] & MS_REMOUNT]
    assert ro and ro[0][4] & MS_RDONLY and not ro[0][4] & MS_NODEV or ro
