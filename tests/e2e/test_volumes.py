"""Volumes and mounts through the docker CLI and docker-py: -v, --mount, --tmpfs, image VOLUMEs,
--volumes-from, the volumes API, rm -v, persistence across a daemon restart, and bad input."""
from __future__ import annotations

import json
import os
import uuid

import docker.errors
import pytest

from tests.support.daemon import import_busybox


def name() -> str:
    return "dyvol-" + uuid.uuid4().hex[:8]


def ok(r):
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_named_volume_lifecycle(daemon):
    d, v = daemon, name()
    ok(d.docker("volume", "create", "--label", "team=a", v))
    info = json.loads(ok(d.docker("volume", "inspect", v)))[0]
    assert info["Name"] == v and info["Driver"] == "local" and info["Labels"] == {"team": "a"}
    assert info["Mountpoint"].endswith(f"/volumes/{v}/_data") and os.path.isdir(info["Mountpoint"])
    ok(d.docker("run", "--rm", "-v", f"{v}:/data", "busybox", "sh", "-c", "echo hi > /data/f"))
    assert ok(d.docker("run", "--rm", "-v", f"{v}:/data:ro", "busybox", "cat", "/data/f")) == "hi\n"
    r = d.docker("run", "--rm", "-v", f"{v}:/data:ro", "busybox", "touch", "/data/g")
    assert r.returncode == 1 and b"Read-only" in r.stderr
    assert v in ok(d.docker("volume", "ls", "-q", "--filter", "label=team=a")).split()
    assert v not in ok(d.docker("volume", "ls", "-q", "--filter", "dangling=false")).split()
    ok(d.docker("volume", "rm", v))
    assert not os.path.exists(info["Mountpoint"])


def test_volume_in_use_is_409_and_survives_its_container(daemon):
    d, v = daemon, name()
    cid = ok(d.docker("create", "-v", f"{v}:/data", "busybox", "true")).strip()
    r = d.docker("volume", "rm", v)
    assert r.returncode == 1 and b"volume is in use" in r.stderr
    with pytest.raises(docker.errors.APIError) as e:
        d.client().volumes.get(v).remove()
    assert e.value.status_code == 409
    ok(d.docker("rm", cid))
    assert v in ok(d.docker("volume", "ls", "-q")).split()  # a named volume outlives rm -v
    ok(d.docker("volume", "rm", v))


def test_image_content_is_copied_into_a_new_volume(daemon):
    d, v = daemon, name()
    out = ok(d.docker("run", "--rm", "-v", f"{v}:/etc", "busybox", "ls", "/etc")).split()
    assert "passwd" in out and "hosts" in out  # the image's files, and Docker's /etc files on top
    nocopy = name()
    out = ok(d.docker("run", "--rm", "--mount", f"type=volume,src={nocopy},dst=/etc,volume-nocopy",
                      "busybox", "ls", "/etc")).split()
    assert "passwd" not in out
    ok(d.docker("volume", "rm", v, nocopy))


def test_anonymous_volumes_and_rm_v(daemon):
    d = daemon
    before = set(ok(d.docker("volume", "ls", "-q")).split())
    cid = ok(d.docker("run", "-d", "-v", "/anon", "busybox", "sh", "-c", "echo x > /anon/f")).strip()
    ok(d.docker("wait", cid))
    mounts = json.loads(ok(d.docker("inspect", "-f", "{{json .Mounts}}", cid)))
    assert mounts[0]["Type"] == "volume" and mounts[0]["Destination"] == "/anon"
    assert set(ok(d.docker("volume", "ls", "-q")).split()) - before == {mounts[0]["Name"]}
    ok(d.docker("rm", "-v", cid))
    assert set(ok(d.docker("volume", "ls", "-q")).split()) == before
    ok(d.docker("run", "--rm", "-v", "/anon2", "busybox", "true"))  # --rm takes it too
    assert set(ok(d.docker("volume", "ls", "-q")).split()) == before


def test_bind_mounts_and_mount_syntax(daemon, tmp_path):
    d = daemon
    created = tmp_path / "made-by-v"
    ok(d.docker("run", "--rm", "-v", f"{created}:/b", "busybox", "sh", "-c", "echo y > /b/f"))
    assert (created / "f").read_text() == "y\n"  # -v creates a missing host path
    ok(d.docker("run", "--rm", "--mount", f"type=bind,src={created},dst=/b,readonly",
                "busybox", "cat", "/b/f"))
    out = ok(d.docker("run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", "--tmpfs",
                      "/u:size=2m", "busybox", "df", "-k", "/t", "/u"))
    assert " 1024 " in out and " 2048 " in out
    cid = ok(d.docker("create", "--mount", f"type=bind,src={created},dst=/b,bind-propagation=rslave",
                      "busybox", "true")).strip()
    mounts = json.loads(ok(d.docker("inspect", "-f", "{{json .Mounts}}", cid)))
    assert mounts == [{"Type": "bind", "Source": str(created), "Destination": "/b", "Mode": "",
                       "RW": True, "Propagation": "rslave"}]
    ok(d.docker("rm", cid))


def test_volumes_from(daemon):
    d, v = daemon, name()
    src = ok(d.docker("create", "-v", f"{v}:/shared", "busybox", "true")).strip()
    ok(d.docker("run", "--rm", "--volumes-from", src, "busybox", "sh", "-c", "echo z > /shared/f"))
    r = d.docker("run", "--rm", "--volumes-from", f"{src}:ro", "busybox", "touch", "/shared/g")
    assert r.returncode == 1
    ok(d.docker("rm", src))
    ok(d.docker("volume", "rm", v))


def test_local_driver_options_tmpfs(daemon):
    d, v = daemon, name()
    ok(d.docker("volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs",
                "-o", "o=size=1m", v))
    assert " 1024 " in ok(d.docker("run", "--rm", "-v", f"{v}:/t", "busybox", "df", "-k", "/t"))
    ok(d.docker("volume", "rm", v))


def test_local_driver_bind_option(daemon, tmp_path):
    d, v = daemon, name()
    (tmp_path / "f").write_text("from host\n")
    ok(d.docker("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}", "-o", "o=bind", v))
    assert ok(d.docker("run", "--rm", "-v", f"{v}:/t", "busybox", "cat", "/t/f")) == "from host\n"
    ok(d.docker("volume", "rm", v))
    assert (tmp_path / "f").exists()  # removing the volume never touches the bound directory


def test_docker_py_volumes_api(daemon):
    client, v = daemon.client(), name()
    vol = client.volumes.create(v, labels={"k": "v"})
    assert vol.attrs["Scope"] == "local"
    assert [x.name for x in client.volumes.list(filters={"name": v})] == [v]
    assert client.volumes.get(v).attrs["Labels"] == {"k": "v"}
    pruned = client.volumes.prune(filters={"label": "k=v"})
    assert v in (pruned["VolumesDeleted"] or [])
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(v)


def test_volume_survives_a_daemon_restart(fresh_daemon):
    d, v = fresh_daemon, name()
    ok(d.docker("run", "--rm", "-v", f"{v}:/data", "busybox", "sh", "-c", "echo kept > /data/f"))
    d.kill()
    d.start()
    assert ok(d.docker("run", "--rm", "-v", f"{v}:/data", "busybox", "cat", "/data/f")) == "kept\n"


@pytest.mark.parametrize("args, message", [
    (["--mount", "type=bind,src=/dy-does-not-exist,dst=/x"],
     'invalid mount config for type "bind": bind source path does not exist: /dy-does-not-exist'),
    (["--mount", "type=tmpfs,src=foo,dst=/x"], 'invalid mount config for type "tmpfs": field Source must not be specified'),
    (["-v", "a:b:c:d"], "invalid volume specification: 'a:b:c:d'"),
    (["-v", "/tmp:/x:bogus"], "invalid mode: bogus"),
    (["-v", "vol:relative"], "mount path must be absolute"),
    (["-v", "/tmp:/x", "-v", "/etc:/x"], "Duplicate mount point: /x"),
    (["--volumes-from", "dy-no-such-container"], "No such container: dy-no-such-container"),
])
def test_bad_mount_specs_leave_nothing(daemon, args, message):
    before = (daemon.docker("ps", "-aq").stdout, daemon.docker("volume", "ls", "-q").stdout)
    r = daemon.docker("create", *args, "busybox", "true")
    assert r.returncode != 0 and message.encode() in r.stderr, r.stderr
    assert (daemon.docker("ps", "-aq").stdout, daemon.docker("volume", "ls", "-q").stdout) == before


def test_bad_volume_create_input(daemon):
    client = daemon.client()
    with pytest.raises(docker.errors.APIError) as e:
        client.volumes.create("bad/name")
    assert e.value.status_code == 400 and "includes invalid characters" in str(e.value)
    with pytest.raises(docker.errors.APIError) as e:
        client.volumes.create(name(), driver_opts={"bogus": "1"})
    assert e.value.status_code == 400 and 'invalid option key: "bogus"' in str(e.value)
    with pytest.raises(docker.errors.NotFound):
        client.volumes.create(name(), driver="nosuchdriver")
