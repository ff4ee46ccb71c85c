import os

from dockyard.cgroups import Resources, V1Cgroup, is_v2, open_cgroup


def make_root(tmp_path, memsw=True):
    for c in ("memory", "pids", "cpu", "cpuset", "freezer"):
        (tmp_path / c).mkdir()
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    return str(tmp_path)


def test_hybrid_host_uses_v1(tmp_path):
    root = make_root(tmp_path)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("hugetlb\n")
    assert not is_v2(root)
    assert isinstance(open_cgroup("/dockyard/c1", root), V1Cgroup)


def test_create_writes_limits(tmp_path):
    root = make_root(tmp_path)
    mem = tmp_path / "memory" / "dockyard" / "c1"
    cg = open_cgroup("/dockyard/c1", root)
    # memsw exists only when the kernel has swap accounting: pre-create it as the kernel would.
    os.makedirs(mem)
    (mem / "memory.memsw.limit_in_bytes").write_text("max")
    cg.create(Resources(memory=16 << 20, memory_swap=32 << 20, pids=10, cpu_shares=512,
                        cpu_quota=50000, cpu_period=100000, cpuset_cpus="0"))
    assert (mem / "memory.limit_in_bytes").read_text() == str(16 << 20)
    assert (mem / "memory.memsw.limit_in_bytes").read_text() == str(32 << 20)
    assert (tmp_path / "pids/dockyard/c1/pids.max").read_text() == "10"
    assert (tmp_path / "cpu/dockyard/c1/cpu.shares").read_text() == "512"
    assert (tmp_path / "cpu/dockyard/c1/cpu.cfs_quota_us").read_text() == "50000"
    assert (tmp_path / "cpuset/dockyard/c1/cpuset.cpus").read_text() == "0"
    # the intermediate cpuset level inherited its parent's cpus/mems... only if the kernel made the files
    assert (tmp_path / "freezer/dockyard/c1").is_dir()


def test_no_memsw_file_means_no_swap_limit(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/dockyard/c2", root)
    cg.create(Resources(memory=1 << 20, memory_swap=2 << 20))
    assert not (tmp_path / "memory/dockyard/c2/memory.memsw.limit_in_bytes").exists()


def test_unlimited_pids(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/x", root)
    cg.create(Resources(pids=-1))
    assert (tmp_path / "pids/x/pids.max").read_text() == "max"


def test_oom_killed_and_pids(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/x", root)
    cg.create()
    d = tmp_path / "memory" / "x"
    (d / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not cg.oom_killed()
    (d / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_killed()
    (tmp_path / "pids/x/cgroup.procs").write_text("12\n34\n")
    assert cg.pids() == [12, 34]


def test_add_writes_every_controller(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/x", root)
    cg.create()
    cg.add(0)
    for c in ("memory", "pids", "cpu", "freezer"):
        assert (tmp_path / c / "x" / "cgroup.procs").read_text() == "0"


def test_delete_removes_dirs(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/x", root)
    os.makedirs(tmp_path / "memory" / "x")
    assert cg.exists()
    cg.delete()
    assert not cg.exists()
    cg.delete()  # idempotent


def test_freeze_thaw(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/x", root)
    cg.create()
    cg.freeze()
    assert (tmp_path / "freezer/x/freezer.state").read_text() == "FROZEN"
    cg.thaw()
    assert (tmp_path / "freezer/x/freezer.state").read_text() == "THAWED"
