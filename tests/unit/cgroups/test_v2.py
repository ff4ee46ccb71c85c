from dockyard.cgroups import Resources, V2Cgroup, is_v2, open_cgroup
from dockyard.cgroups.resources import shares_to_weight


def make_root(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    return str(tmp_path)


def test_v2_detected(tmp_path):
    root = make_root(tmp_path)
    assert is_v2(root)
    assert isinstance(open_cgroup("/dockyard/c1", root), V2Cgroup)


def test_create_enables_controllers_and_writes_limits(tmp_path):
    root = make_root(tmp_path)
    # Each level the kernel would populate with cgroup.controllers.
    (tmp_path / "dockyard").mkdir()
    (tmp_path / "dockyard" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    cg = open_cgroup("/dockyard/c1", root)
    cg.create(Resources(memory=16 << 20, memory_swap=-1, pids=5, cpu_shares=1024, cpu_quota=50000,
                        cpu_period=100000))
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +cpuset +memory +pids +io"
    assert (tmp_path / "dockyard" / "cgroup.subtree_control").read_text() == "+cpu +cpuset +memory +pids +io"
    d = tmp_path / "dockyard" / "c1"
    assert (d / "memory.max").read_text() == str(16 << 20)
    assert (d / "pids.max").read_text() == "5"
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "cpu.weight").read_text() == str(shares_to_weight(1024))


def test_shares_to_weight():
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000
    assert shares_to_weight(1024) == 39


def test_oom_from_memory_events(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/c", root)
    cg.create()
    (tmp_path / "c" / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not cg.oom_killed()
    (tmp_path / "c" / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_killed()


def test_kill_all_uses_cgroup_kill(tmp_path):
    root = make_root(tmp_path)
    cg = open_cgroup("/c", root)
    cg.create()
    (tmp_path / "c" / "cgroup.kill").write_text("")
    cg.kill_all(9)
    assert (tmp_path / "c" / "cgroup.kill").read_text() == "1"
