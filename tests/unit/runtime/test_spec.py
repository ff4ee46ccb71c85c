"""The OCI config.json built for a container: schema-valid, Docker's defaults, resources mapped."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.linux.capnames import CAPABILITIES
from dockyard.runtime import spec

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from referencing.jsonschema import DRAFT4  # noqa: E402

SCHEMA_DIR = Path("/work/shared/reference/runtime-spec")

DOCKER_DEFAULT_CAPS = {  # moby oci/caps/defaults.go
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}


@pytest.fixture(scope="module")
def validator() -> Any:
    if not (SCHEMA_DIR / "config-schema.json").exists():
        pytest.skip(f"OCI runtime schema not found in {SCHEMA_DIR}")
    resources = []
    for name in ("config-schema.json", "defs.json", "defs-linux.json", "config-linux.json"):
        contents = json.loads((SCHEMA_DIR / name).read_text())
        resources.append(((SCHEMA_DIR / name).as_uri(),
                          referencing.Resource.from_contents(contents, default_specification=DRAFT4)))
    registry = referencing.Registry().with_resources(resources)
    root = {"$ref": (SCHEMA_DIR / "config-schema.json").as_uri()}
    return jsonschema.Draft4Validator(root, registry=registry)


def make(host_config: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
         user: spec.ProcessUser | None = None, cgroup_parent: str = "dockyard") -> dict[str, Any]:
    return spec.build(
        container_id="c0ffee" * 10 + "abcd", cgroup_parent=cgroup_parent,
        args=["/bin/sh", "-c", "echo hi"], env=["PATH=/usr/bin:/bin", "HOSTNAME=c0ffee"],
        cwd="", user=user or spec.ProcessUser(uid=0, gid=0, additional_gids=[], home="/root"),
        hostname="c0ffee", rootfs="/var/lib/dockyard/rootfs/x", files_dir="/run/dockyard/files/x",
        config=config or {}, host_config=host_config or {})


def caps(s: dict[str, Any]) -> set[str]:
    c = s["process"]["capabilities"]
    assert c["bounding"] == c["effective"] == c["permitted"]
    return set(c["bounding"])


# --- schema --------------------------------------------------------------------------------

def test_validator_rejects_a_broken_spec(validator: Any) -> None:
    # proves the schema and its $refs are really applied
    bad = make()
    bad["linux"]["namespaces"].append({"type": "not-a-namespace"})
    assert list(validator.iter_errors(bad))
    bad = make()
    bad["process"]["user"]["uid"] = "root"
    assert list(validator.iter_errors(bad))
    bad = make()
    del bad["ociVersion"]
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize("host_config,config,user", [
    ({}, {}, None),
    ({"Privileged": True}, {"Tty": True}, None),
    ({"NetworkMode": "host", "ReadonlyRootfs": True}, {}, None),
    ({"Memory": 64 << 20, "MemorySwap": -1, "OomKillDisable": True, "MemoryReservation": 32 << 20,
      "PidsLimit": 100, "CpuShares": 512, "NanoCpus": 1_500_000_000, "CpusetCpus": "0",
      "CpusetMems": "0", "ShmSize": 1 << 20, "OomScoreAdj": 500,
      "Ulimits": [{"Name": "nproc", "Soft": 100, "Hard": 200}],
      "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"]}, {}, None),
    ({"CpuQuota": 50000, "CpuPeriod": 200000, "CapDrop": ["ALL"]}, {},
     spec.ProcessUser(uid=1000, gid=1000, additional_gids=[5, 10], home="/home/app")),
])
def test_build_validates_against_the_oci_schema(validator: Any, host_config: dict[str, Any],
                                                config: dict[str, Any],
                                                user: spec.ProcessUser | None) -> None:
    s = make(host_config, config, user)
    errors = sorted(validator.iter_errors(s), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    json.dumps(s)  # and it serialises


# --- capabilities --------------------------------------------------------------------------

def test_default_caps_are_dockers_14() -> None:
    assert len(spec.DEFAULT_CAPS) == 14
    assert set(spec.DEFAULT_CAPS) == DOCKER_DEFAULT_CAPS
    assert caps(make()) == DOCKER_DEFAULT_CAPS


def test_inheritable_caps_are_empty_like_docker() -> None:
    assert make({"CapAdd": ["NET_ADMIN"]})["process"]["capabilities"].get("inheritable", []) == []


def test_cap_add_and_drop_with_or_without_prefix_any_case() -> None:
    got = caps(make({"CapAdd": ["NET_ADMIN", "cap_sys_time"], "CapDrop": ["MKNOD", "CAP_KILL"]}))
    assert got == (DOCKER_DEFAULT_CAPS | {"CAP_NET_ADMIN", "CAP_SYS_TIME"}) - {"CAP_MKNOD", "CAP_KILL"}


def test_drop_all_then_add_some() -> None:
    assert caps(make({"CapDrop": ["ALL"], "CapAdd": ["CHOWN"]})) == {"CAP_CHOWN"}
    assert caps(make({"CapDrop": ["all"]})) == set()


def _held() -> set[str]:
    from dockyard.linux.caps import bounding_set, to_names

    return set(CAPABILITIES) & set(to_names(bounding_set()))


def test_add_all_then_drop_some() -> None:
    got = caps(make({"CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]}))
    assert got == _held() - {"CAP_SYS_ADMIN"}


def test_privileged_gets_every_cap_and_no_masks() -> None:
    s = make({"Privileged": True, "CapDrop": ["ALL"]})
    assert caps(s) == _held()  # what the daemon holds: these hosts lack CAP_SYS_RESOURCE
    assert s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]


def test_unprivileged_masks_proc_and_denies_devices() -> None:
    s = make()
    assert "/proc/kcore" in s["linux"]["maskedPaths"]
    assert "/proc/sys" in s["linux"]["readonlyPaths"]
    assert s["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}


# --- resources -----------------------------------------------------------------------------

def test_memory_limit_and_default_swap_is_twice() -> None:
    mem = make({"Memory": 128 << 20})["linux"]["resources"]["memory"]
    assert mem["limit"] == 128 << 20
    assert mem["swap"] == 256 << 20


def test_memory_swap_explicit_and_unlimited() -> None:
    assert make({"Memory": 64 << 20, "MemorySwap": 100 << 20})["linux"]["resources"]["memory"]["swap"] == 100 << 20
    assert make({"Memory": 64 << 20, "MemorySwap": -1})["linux"]["resources"]["memory"]["swap"] == -1


def test_no_memory_no_memory_section() -> None:
    assert "memory" not in make()["linux"]["resources"]


@pytest.mark.parametrize("nano,quota", [(1_000_000_000, 100000), (1_500_000_000, 150000),
                                        (500_000_000, 50000), (10_000_000, 1000)])
def test_nano_cpus_to_quota_and_period(nano: int, quota: int) -> None:
    cpu = make({"NanoCpus": nano})["linux"]["resources"]["cpu"]
    assert cpu["period"] == 100000 and cpu["quota"] == quota


def test_cpu_quota_and_period_and_shares() -> None:
    cpu = make({"CpuQuota": 50000, "CpuPeriod": 200000, "CpuShares": 256})["linux"]["resources"]["cpu"]
    assert cpu == {"quota": 50000, "period": 200000, "shares": 256}


def test_pids_limit_only_when_positive() -> None:
    assert make({"PidsLimit": 64})["linux"]["resources"]["pids"] == {"limit": 64}
    assert "pids" not in make({"PidsLimit": -1})["linux"]["resources"]
    assert "pids" not in make({"PidsLimit": 0})["linux"]["resources"]


def test_ulimits_become_rlimits() -> None:
    rl = {r["type"]: r for r in make({"Ulimits": [{"Name": "nproc", "Soft": 10, "Hard": 20}]})
          ["process"]["rlimits"]}
    assert rl["RLIMIT_NPROC"] == {"type": "RLIMIT_NPROC", "soft": 10, "hard": 20}
    assert "RLIMIT_NOFILE" in rl


# --- namespaces, mounts, cgroups, process --------------------------------------------------

def test_default_network_has_its_own_namespace() -> None:
    types = [n["type"] for n in make()["linux"]["namespaces"]]
    assert set(types) == {"pid", "ipc", "uts", "mount", "network"}
    assert len(types) == len(set(types))


def test_host_network_has_no_network_namespace_and_binds_sys() -> None:
    s = make({"NetworkMode": "host"})
    types = {n["type"] for n in s["linux"]["namespaces"]}
    assert "network" not in types and {"pid", "mount"} <= types
    sys_mount = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert sys_mount["type"] == "bind" and sys_mount["source"] == "/sys"


def test_none_network_still_has_a_namespace() -> None:
    assert "network" in {n["type"] for n in make({"NetworkMode": "none"})["linux"]["namespaces"]}


@pytest.mark.parametrize("parent,expected", [("dockyard", "/dockyard/"), ("/system.slice/", "/system.slice/"),
                                             ("/a/b", "/a/b/")])
def test_cgroups_path_uses_the_given_parent(parent: str, expected: str) -> None:
    s = make(cgroup_parent=parent)
    assert s["linux"]["cgroupsPath"] == expected + "c0ffee" * 10 + "abcd"


def test_mounts_include_dockers_set_and_etc_files() -> None:
    s = make({"ShmSize": 2 << 20})
    dests = [m["destination"] for m in s["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/sys", "/dev/mqueue", "/dev/shm",
              "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"):
        assert d in dests
    assert len(dests) == len(set(dests))
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={2 << 20}" in shm["options"]
    hosts = next(m for m in s["mounts"] if m["destination"] == "/etc/hosts")
    assert hosts["source"] == "/run/dockyard/files/x/hosts"


def test_process_fields() -> None:
    s = make({"ReadonlyRootfs": True, "OomScoreAdj": -100}, {"Tty": True},
             spec.ProcessUser(uid=1000, gid=100, additional_gids=[5], home="/h"))
    p = s["process"]
    assert p["terminal"] is True and p["cwd"] == "/"
    assert p["user"] == {"uid": 1000, "gid": 100, "additionalGids": [5]}
    assert p["args"] == ["/bin/sh", "-c", "echo hi"] and p["oomScoreAdj"] == -100
    assert s["root"] == {"path": "/var/lib/dockyard/rootfs/x", "readonly": True}
    assert s["hostname"] == "c0ffee"


def test_write_bundle_is_readable_json(tmp_path: Path) -> None:
    s = make()
    spec.write_bundle(str(tmp_path / "b"), s)
    assert json.loads((tmp_path / "b" / "config.json").read_text()) == s
    assert not (tmp_path / "b" / ".config.json.tmp").exists()
