"""The cgroup v2 eBPF device filter on the real kernel: a child moved into a dytest- cgroup under the
cgroup2 hierarchy (the hybrid's /sys/fs/cgroup/unified, or /sys/fs/cgroup on a v2 host) may only
use the devices its rules allow."""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import uuid

import pytest

from dockyard.cgroups import Resources, V2Cgroup
from dockyard.linux import bpf
from dockyard.runtime.security import DEFAULT_DEVICE_RULES

NULL_ONLY = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]


def cgroup2_mount() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    return None


def block_device(devdir: str) -> tuple[int, int, str]:
    """A real block device this process may open outside any test cgroup (so a refusal inside is
    the filter's doing), as (major, minor, node made in `devdir`). The root filesystem's disk first,
    then the others /sys/dev/block lists (a sandboxed host may already deny its root disk)."""
    st = os.stat("/")
    candidates = [f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"]
    if os.path.isdir("/sys/dev/block"):
        candidates += sorted(os.listdir("/sys/dev/block"))
    node = os.path.join(devdir, "disk")
    for c in candidates:
        if not os.path.exists(f"/sys/dev/block/{c}"):
            continue
        major, minor = (int(x) for x in c.split(":"))
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(major, minor))
        if try_open(node) in (0, errno.ENXIO, errno.ENOMEDIUM):
            return major, minor, node
        os.unlink(node)
    pytest.skip(f"no block device this process may open outside a test cgroup (tried {candidates})")


@pytest.fixture
def cg2():
    if os.geteuid() != 0:
        pytest.skip("needs root: bpf(BPF_PROG_LOAD/ATTACH) and cgroup directories")
    root = cgroup2_mount()
    if root is None:
        pytest.skip("no cgroup2 hierarchy is mounted (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified "
                    "in /proc/self/mountinfo): nothing to attach a BPF_CGROUP_DEVICE program to")
    made: list[V2Cgroup] = []

    def make(rules):
        cg = V2Cgroup(root, f"/dytest-bpf-{uuid.uuid4().hex[:10]}")
        made.append(cg)
        cg.create(Resources(devices=rules))
        return cg
    yield make
    for cg in made:
        for pid in cg.pids():  # a child that did not exit: kill it, the rmdir waits for it
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        cg.delete(5)
        assert not cg.exists()


@pytest.fixture
def devdir():
    """A directory on a filesystem that honours device nodes (not nodev)."""
    for base in (tempfile.gettempdir(), "/var/tmp", "/root"):
        if os.path.isdir(base) and not os.statvfs(base).f_flag & os.ST_NODEV:
            d = tempfile.mkdtemp(prefix="dytest-dev-", dir=base)
            try:
                yield d
            finally:
                for n in os.listdir(d):
                    os.unlink(os.path.join(d, n))
                os.rmdir(d)
            return
    pytest.skip("no writable directory without nodev to make device nodes in")


def in_cgroup(cg: V2Cgroup, probe) -> dict:
    """Fork; the parent moves the child into `cg`; the child runs probe() and reports its result as JSON."""
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no pytest machinery from here, only os._exit
        code = 0
        try:
            os.close(go_w)
            os.close(res_r)
            os.read(go_r, 1)
            out = json.dumps(probe()).encode()
            os.write(res_w, out)
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            os.write(res_w, json.dumps({"error": repr(e)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(res_w)
    try:
        cg.add(pid)
        assert pid in cg.pids()
        os.write(go_w, b"x")
        os.close(go_w)
        go_w = -1
        chunks = []
        while chunk := os.read(res_r, 65536):
            chunks.append(chunk)
    finally:
        if go_w >= 0:
            os.close(go_w)
            os.kill(pid, 9)
        os.close(res_r)
        os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    assert "error" not in result, result["error"]
    return result


def try_open(path: str, flags: int = os.O_RDONLY) -> int:
    """0 on success, else the errno."""
    try:
        os.close(os.open(path, flags | os.O_CLOEXEC))
        return 0
    except OSError as e:
        return e.errno


def try_mknod(path: str, mode: int, major: int, minor: int) -> int:
    try:
        os.mknod(path, mode | 0o600, os.makedev(major, minor))
        return 0
    except OSError as e:
        return e.errno


def test_program_loads_and_attaches_once(cg2):
    cg = cg2(NULL_ONLY)
    fd = os.open(cg.dir(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = bpf.attached_ids(fd)
        assert len(first) == 1
        cg.apply(Resources(devices=DEFAULT_DEVICE_RULES))  # an update replaces, does not stack
        second = bpf.attached_ids(fd)
        assert len(second) == 1 and second != first
    finally:
        os.close(fd)


def test_only_dev_null(cg2, devdir):
    major, minor, disk = block_device(devdir)  # made, and openable, outside the cgroup
    assert try_open("/dev/zero") == 0  # so is /dev/zero: what fails inside is the filter's doing
    cg = cg2(NULL_ONLY)

    def probe():
        return {
            "null": try_open("/dev/null", os.O_RDWR),
            "zero": try_open("/dev/zero"),
            "mknod_blk": try_mknod(os.path.join(devdir, "new-disk"), stat.S_IFBLK, major, minor),
            "open_blk": try_open(disk),
            "mknod_null": try_mknod(os.path.join(devdir, "null"), stat.S_IFCHR, 1, 3),
        }
    got = in_cgroup(cg, probe)
    assert got == {"null": 0, "zero": errno.EPERM, "mknod_blk": errno.EPERM, "open_blk": errno.EPERM,
                   "mknod_null": 0}


def test_runc_default_allow_list(cg2, devdir):
    major, minor, disk = block_device(devdir)
    os.unlink(disk)
    cg = cg2(DEFAULT_DEVICE_RULES)
    tty_ok = try_open("/dev/tty", os.O_RDWR | os.O_NOCTTY)  # ENXIO without a controlling tty

    def probe():
        new_disk = os.path.join(devdir, "disk")
        made = try_mknod(new_disk, stat.S_IFBLK, major, minor)  # 'm' is allowed for every b and c
        return {
            "null": try_open("/dev/null", os.O_RDWR),
            "zero": try_open("/dev/zero"),
            "urandom": try_open("/dev/urandom"),
            "tty": try_open("/dev/tty", os.O_RDWR | os.O_NOCTTY),
            "mknod_blk": made,
            "open_blk": try_open(new_disk) if made == 0 else -1,
            "open_blk_w": try_open(new_disk, os.O_WRONLY) if made == 0 else -1,
            "mem": try_open("/dev/mem") if os.path.exists("/dev/mem") else errno.EPERM,
        }
    got = in_cgroup(cg, probe)
    assert got == {"null": 0, "zero": 0, "urandom": 0, "tty": tty_ok, "mknod_blk": 0,
                   "open_blk": errno.EPERM, "open_blk_w": errno.EPERM, "mem": errno.EPERM}
    assert tty_ok != errno.EPERM
